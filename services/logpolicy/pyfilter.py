"""The pure-Python log filter of one job: the reference every policy's verdicts are defined by.

Stateful per job (window, budgets, rate buckets, pending marker) but pure: time comes in as
``now``. ``feed`` takes one line; ``feed_bytes`` takes whole chunks and lets plain lines pass
in bulk, with the same verdicts as feeding them one by one. ``arenahub.logpolicy.native``
runs the open and filtered policies in Rust with identical verdicts
(tests/unit/logpolicy/test_native_filter.py); ``LogFilter`` picks one of the two.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from arenahub.core.metricline import MetricLineError, format_metric_line, parse_metric_line
from arenahub.logpolicy.backends import Backend, make_scanner
from arenahub.logpolicy.decision import Decision, Verdict, make_marker_text
from arenahub.logpolicy.metrics import MetricChannel, TokenBucket
from arenahub.logpolicy.normalise import normalise_line
from arenahub.logpolicy.policy import Policy
from arenahub.logpolicy.scanner import FLAG_CONTROL, FLAG_METRIC, FLAG_NON_UTF8, KIND_NAMES, LineScan, make_scan_params
from arenahub.logpolicy.templates import TemplateSet
from arenahub.logpolicy.whitelist import WhitelistMatcher

_CUT_SUFFIX = " …[line cut]"


@dataclass(frozen=True)
class ChunkResult:
    """What ``feed_bytes`` produced: the shown bytes (lines with newlines, markers included)
    and the decisions the audit store keeps (withheld and redacted lines)."""

    shown: bytes
    audit: list[Decision]


class DataWindow:
    """The split-payload detector: data-only lines among the last ``lines`` input lines."""

    def __init__(self, lines: int, data_lines: int, data_bytes: int) -> None:
        self.lines, self.data_lines, self.data_bytes = lines, data_lines, data_bytes
        self._entries: deque[tuple[int, int]] = deque()
        self._total = 0

    def add(self, line_no: int, size: int) -> bool:
        """Record a data-only line; True when the window now holds a split payload."""
        entries = self._entries
        while entries and entries[0][0] <= line_no - self.lines:
            self._total -= entries.popleft()[1]
        entries.append((line_no, size))
        self._total += size
        return len(entries) >= self.data_lines or self._total >= self.data_bytes


Writer = Callable[[bytes], object]


def _written(result: ChunkResult, write: Writer | None) -> ChunkResult:
    if write is None or not result.shown:
        return result
    write(result.shown)
    return ChunkResult(b"", result.audit)


def to_bytes(text: str) -> bytes:
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace")


def _cut(data: bytes, limit: int) -> bytes:
    """``data`` cut to at most ``limit`` bytes on a UTF-8 character boundary."""
    end = limit
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]


class PythonFilter:
    """Decides one job's output lines under ``policy`` (see arenahub.logpolicy.filter.LogFilter
    for the arguments); ``backend`` picks the scanner only."""

    def __init__(
        self,
        policy: Policy,
        job_budget_bytes: int | None = None,
        *,
        is_replay: bool = False,
        backend: Backend = "auto",
    ) -> None:
        self.policy = policy
        self.leak_budget_bytes = job_budget_bytes if job_budget_bytes is not None else policy.leak_budget_bytes
        self.is_detecting = policy.policy != "open"
        self.params = make_scan_params(policy.detection, policy.max_line_bytes, self.is_detecting)
        self.scanner = make_scanner(self.params, backend)
        self.metrics = MetricChannel(policy.metrics, is_replay=is_replay)
        self.whitelist: WhitelistMatcher | None = None
        if policy.policy == "whitelist":
            allow = tuple((a.name, a.pattern) for a in policy.whitelist.allow)
            templates = TemplateSet(policy.whitelist.templates, allow)
            self.whitelist = WhitelistMatcher(templates, policy.whitelist.exception_message_chars)
        d = policy.detection
        self.window = DataWindow(d.window_lines, d.window_data_lines, d.window_data_bytes)
        self.rate = None if is_replay or policy.max_lines_per_s is None else TokenBucket(policy.max_lines_per_s, policy.burst_lines)
        self.budget_used = 0
        self.shown_bytes = 0
        self.spent_reason = ""  # set once a budget ran out: later lines are withheld, markers deferred
        self._pending: Counter[str] = Counter()
        self.lines_in = self.lines_passed = self.lines_redacted = self.lines_withheld = 0
        self.markers = 0
        self.reasons: Counter[str] = Counter()
        self._carry = b""  # feed_stream: the unfinished last line of the pieces so far

    # -- public API ------------------------------------------------------------------------

    def feed(self, line: str, now: float) -> list[Decision]:
        """Decisions for one output line (a trailing newline is ignored; embedded newlines
        split it), in order: a marker for earlier withheld lines may come first."""
        if line.endswith("\n"):
            line = line[:-1]
        decisions: list[Decision] = []
        for part in line.split("\n"):
            raw = to_bytes(part)
            decisions.extend(self._decide(raw, self.scanner.scan_line(raw), now))
        return decisions

    def feed_bytes(self, data: bytes, now: float, *, is_audited: bool = True) -> ChunkResult:
        """Decide every line in ``data`` (complete lines; only the very last may lack its newline).
        Without ``is_audited`` the result's audit list stays empty."""
        shown: list[bytes] = []
        audit: list[Decision] = []
        result = self._feed_bytes(data, now, shown, audit)
        return ChunkResult(result, audit if is_audited else [])

    def feed_stream(self, data: bytes, now: float, *, is_audited: bool = True, write: Writer | None = None) -> ChunkResult:
        """feed_bytes for any piece of a byte stream: a line cut at the end of ``data`` waits
        for the rest of it (``end_stream`` decides it when the stream ends). With ``write``,
        the shown bytes go to it instead of into the result."""
        cut = data.rfind(b"\n")
        if cut < 0:
            self._carry += data
            return ChunkResult(b"", [])
        whole, self._carry = self._carry + data[: cut + 1], data[cut + 1:]
        return _written(self.feed_bytes(whole, now, is_audited=is_audited), write)

    def end_stream(self, now: float, *, is_audited: bool = True, write: Writer | None = None) -> ChunkResult:
        """The end of a feed_stream stream: the decisions for its unfinished last line, if any."""
        rest, self._carry = self._carry, b""
        return _written(self.feed_bytes(rest, now, is_audited=is_audited), write) if rest else ChunkResult(b"", [])

    def _feed_bytes(self, data: bytes, now: float, shown: list[bytes], audit: list[Decision]) -> bytes:
        if self.whitelist is not None:
            lines = data.split(b"\n")
            if data.endswith(b"\n"):
                lines.pop()
            for raw in lines:
                self._collect(self._decide(raw, self.scanner.scan_line(raw), now), shown, audit)
            return b"".join(shown)
        _, events = self.scanner.scan_chunk(data)
        for event in events:
            if event[0] == 0:
                _, lines, raw_start, raw_end, run_shown = event
                self._plain_run(data, raw_start, raw_end, lines, run_shown, now, shown, audit)
            else:
                _, _, start, end, scan = event
                self._collect(self._decide(data[start:end], scan, now), shown, audit)
        return b"".join(shown)

    def flush(self, now: float) -> list[Decision]:
        """End of job: the marker for withheld lines not yet followed by a shown line."""
        if not self._pending:
            return []
        marker = self._marker()
        self.shown_bytes += len(marker.text.encode()) + 1
        return [marker]

    def counters(self) -> dict[str, Any]:
        """The job's counters so far (LogFilter.summary reports them)."""
        return {
            "lines_in": self.lines_in,
            "lines_passed": self.lines_passed,
            "lines_redacted": self.lines_redacted,
            "lines_withheld": self.lines_withheld,
            "markers": self.markers,
            "bytes_passed": self.shown_bytes,
            "budget_used": self.budget_used,
            "metric_points": self.metrics.points,
            "metric_names": list(self.metrics.names),
            "reasons": dict(self.reasons),
        }

    # -- one line ----------------------------------------------------------------------------

    def _decide(self, raw: bytes, scan: LineScan, now: float) -> list[Decision]:
        self.lines_in += 1
        line_no = self.lines_in
        if scan.flags & (FLAG_CONTROL | FLAG_NON_UTF8):
            text = normalise_line(raw)
            data = text.encode()
            scan = self.scanner.scan_line(data)
        else:
            text, data = raw.decode(), raw
        if scan.flags & FLAG_METRIC:
            return self._metric_line(text, raw, line_no, now)
        cost: int | None = None
        reason = ""
        if self.whitelist is not None:
            verdict = self.whitelist.classify(text)
            if verdict.shown is None:
                return self._withhold(raw, line_no, verdict.reason)
            if verdict.shown != text:
                text, reason = verdict.shown, verdict.reason
                data = text.encode()
                scan = self.scanner.scan_line(data)
            cost = verdict.cost_bytes
        if scan.spans or scan.is_data_only:
            is_split = scan.is_data_only and self.window.add(line_no, scan.data_bytes)
            if scan.spans:
                covered = sum(end - start for start, end, _ in scan.spans)
                nonblank = len(data) - data.count(b" ") - data.count(b"\t")
                if covered * 100 >= self.policy.detection.withhold_percent * nonblank:
                    return self._withhold(raw, line_no, "encoded-data")
            if is_split:
                return self._withhold(raw, line_no, "split-payload")
            if scan.spans:
                data = self._redact(data, scan)
                reason = "encoded-data"
        if len(data) > self.policy.max_line_bytes:
            data = _cut(data, self.policy.max_line_bytes - len(_CUT_SUFFIX.encode())) + _CUT_SUFFIX.encode()
            reason = reason or "line-too-long"
        shown = data.decode()
        return self._show(shown, raw, line_no, now, reason, cost)

    @staticmethod
    def _redact(data: bytes, scan: LineScan) -> bytes:
        parts: list[bytes] = []
        at = 0
        for start, end, kind in scan.spans:
            parts.append(data[at:start])
            parts.append(f"[redacted {KIND_NAMES[kind]}]".encode())
            at = end
        parts.append(data[at:])
        return b"".join(parts)

    def _show(self, shown: str, raw: bytes, line_no: int, now: float, reason: str, cost: int | None) -> list[Decision]:
        if self.spent_reason:
            return self._withhold(raw, line_no, self.spent_reason)
        if self.rate is not None and not self.rate.try_take(1, now):
            return self._withhold(raw, line_no, "rate-limit")
        size = len(shown.encode()) + 1
        decisions = self._emit_marker()
        if self.spent_reason or not self._fits(size, size if cost is None else cost):
            return decisions + self._withhold(raw, line_no, self.spent_reason)
        self._charge(size, size if cost is None else cost)
        if reason:
            self.lines_redacted += 1
            self.reasons[reason] += 1
            original = raw.decode("utf-8", "replace")
            return [*decisions, Decision(Verdict.REDACT, shown, reason, line_no, original=original)]
        self.lines_passed += 1
        return [*decisions, Decision(Verdict.PASS, shown, "", line_no)]

    def _metric_line(self, text: str, raw: bytes, line_no: int, now: float) -> list[Decision]:
        if self.metrics.points >= self.policy.metrics.max_points_per_job:
            # The job's points are used up: every further metric line is withheld, parsed or not.
            return self._withhold(raw, line_no, "metric-points-cap")
        try:
            point = parse_metric_line(text)
        except (MetricLineError, OverflowError):  # OverflowError: an integer value beyond float
            return self._withhold(raw, line_no, "metric-malformed")
        if point is None:  # a normalised line that starts like a metric line only in bytes
            return self._withhold(raw, line_no, "metric-malformed")
        admitted = self.metrics.admit(point, now)
        if admitted.point is None:
            return self._withhold(raw, line_no, admitted.reason)
        shown = format_metric_line(admitted.point.step, admitted.point.values)
        size = len(shown.encode()) + 1
        decisions = [] if self.spent_reason else self._emit_marker()
        if self.policy.max_shown_bytes is not None and self.shown_bytes + size > self.policy.max_shown_bytes:
            self.spent_reason = self.spent_reason or "shown-bytes-cap"
            return decisions + self._withhold(raw, line_no, "shown-bytes-cap")
        self.shown_bytes += size
        if admitted.reason:
            self.lines_redacted += 1
            self.reasons[admitted.reason] += 1
            return [*decisions, Decision(Verdict.REDACT, shown, admitted.reason, line_no, True, admitted.point, raw.decode("utf-8", "replace"))]
        self.lines_passed += 1
        return [*decisions, Decision(Verdict.PASS, shown, "", line_no, True, admitted.point)]

    # -- budgets and markers -----------------------------------------------------------------

    def _fits(self, size: int, cost: int) -> bool:
        """Whether ``size`` shown bytes costing ``cost`` budget bytes fit; sets spent_reason if not."""
        p = self.policy
        if p.max_shown_bytes is not None and self.shown_bytes + size > p.max_shown_bytes:
            self.spent_reason = "shown-bytes-cap"
            return False
        if self.leak_budget_bytes is not None and self.budget_used + cost > self.leak_budget_bytes:
            self.spent_reason = "leak-budget"
            return False
        return True

    def _charge(self, size: int, cost: int) -> None:
        self.shown_bytes += size
        self.budget_used += cost

    def _emit_marker(self) -> list[Decision]:
        if not self._pending:
            return []
        text = make_marker_text(self._pending)
        size = len(text.encode()) + 1
        if not self._fits(size, size):
            return []  # deferred to flush(): after a budget ran out, only one final marker
        self._charge(size, size)
        return [self._marker()]

    def _marker(self) -> Decision:
        text = make_marker_text(self._pending)
        reason = ",".join(sorted(self._pending))
        self._pending.clear()
        self.markers += 1
        return Decision(Verdict.MARKER, text, reason)

    def _withhold(self, raw: bytes, line_no: int, reason: str) -> list[Decision]:
        self.lines_withheld += 1
        self.reasons[reason] += 1
        self._pending[reason] += 1
        return [Decision(Verdict.WITHHOLD, raw.decode("utf-8", "replace"), reason, line_no)]

    # -- bulk path for feed_bytes --------------------------------------------------------------

    def _plain_run(
        self, data: bytes, raw_start: int, raw_end: int, count: int, run_shown: bytes,
        now: float, shown: list[bytes], audit: list[Decision],
    ) -> None:
        """``count`` plain lines (data[raw_start:raw_end], showing ``run_shown``): in bulk
        when all of them pass under the caps, else one by one (the same verdicts either way)."""
        size = len(run_shown)
        is_bulk = not self.spent_reason and (self.rate is None or self.rate.available(now) >= count)
        if is_bulk and self._pending:
            marker_size = len(make_marker_text(self._pending).encode()) + 1
            is_bulk = self._fits_quietly(size + marker_size, size + marker_size)
        elif is_bulk:
            is_bulk = self._fits_quietly(size, size)
        if is_bulk:
            self._collect(self._emit_marker(), shown, audit)
            if self.rate is not None:
                for _ in range(count):  # one at a time, as feeding the lines one by one does
                    self.rate.try_take(1, now)
            self._charge(size, size)
            self.lines_in += count
            self.lines_passed += count
            shown.append(run_shown)
            return
        raw_lines = data[raw_start:raw_end].split(b"\n")
        if self.spent_reason:
            # Plain lines after a budget ran out are all withheld: skip rescanning them.
            reason = self.spent_reason
            first = self.lines_in + 1
            self.lines_in += count
            self.lines_withheld += count
            self.reasons[reason] += count
            self._pending[reason] += count
            audit.extend(
                Decision(Verdict.WITHHOLD, raw.decode("utf-8", "replace"), reason, first + i)
                for i, raw in enumerate(raw_lines)
            )
            return
        for raw in raw_lines:
            self._collect(self._decide(raw, self.scanner.scan_line(raw), now), shown, audit)

    def _fits_quietly(self, size: int, cost: int) -> bool:
        p = self.policy
        if p.max_shown_bytes is not None and self.shown_bytes + size > p.max_shown_bytes:
            return False
        return self.leak_budget_bytes is None or self.budget_used + cost <= self.leak_budget_bytes

    @staticmethod
    def _collect(decisions: list[Decision], shown: list[bytes], audit: list[Decision]) -> None:
        for d in decisions:
            if d.action is Verdict.WITHHOLD or d.action is Verdict.REDACT:
                audit.append(d)
            if d.action is not Verdict.WITHHOLD:
                shown.append(d.text.encode() + b"\n")
