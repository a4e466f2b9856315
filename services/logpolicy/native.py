"""The open and filtered policies in Rust: ``arenahub_logscan.Filter`` adapted to LogFilter's API.

The whole per-line decision (scan, window, redaction, caps, budgets, markers, metric lines)
runs natively over whole chunks; plain lines never become Python objects. Python answers the
rare cases through three callbacks: normalising lines with escapes or invalid UTF-8, metric
lines outside the native parser's shape (malformed ones included) and organiser metric-name
patterns. ``arenahub.logpolicy.pyfilter.PythonFilter`` is the reference it must match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from arenahub.core.metricline import METRIC_NAME_PATTERN, MetricLineError, MetricPoint, parse_metric_line
from arenahub.logpolicy.decision import Decision, Verdict
from arenahub.logpolicy.normalise import normalise_line
from arenahub.logpolicy.policy import Policy
from arenahub.logpolicy.pyfilter import ChunkResult, to_bytes
from arenahub.logpolicy.scanner import ScanParams

_U64_MAX = 2**64 - 1
Writer = Callable[[bytes], object]
_ACTIONS = (Verdict.PASS, Verdict.REDACT, Verdict.WITHHOLD, Verdict.MARKER)


def _u64(value: int | None) -> int | None:
    return None if value is None else min(value, _U64_MAX)


def _normalise(raw: bytes) -> bytes:
    return normalise_line(raw).encode()


def _parse_metric(text: bytes) -> tuple[int, list[tuple[str, float]]] | None:
    try:
        point = parse_metric_line(text.decode())
    except (MetricLineError, OverflowError):
        return None
    return None if point is None else (point.step, list(point.values.items()))


def _decision(record: tuple) -> Decision:
    action, line_no, text, reason, original, metric = record
    verdict = _ACTIONS[action]
    if verdict is Verdict.WITHHOLD:
        return Decision(verdict, text.decode("utf-8", "replace"), reason, line_no)
    point = None if metric is None else MetricPoint(metric[0], dict(metric[1]))
    return Decision(
        verdict, text.decode(), reason, line_no, point is not None, point,
        None if original is None else original.decode("utf-8", "replace"),
    )


class NativeFilter:
    """One job's open or filtered policy in the native core (the arguments as for LogFilter)."""

    name = "native"

    def __init__(self, policy: Policy, leak_budget_bytes: int | None, params: ScanParams, module: Any, *, is_replay: bool) -> None:
        d, caps = policy.detection, policy.metrics
        name_re = re.compile(caps.name_pattern)
        scan = (
            params.is_detecting, params.max_line_bytes, params.base64_min_chars, params.hex_min_chars,
            params.decimal_min_digits, params.number_list_min, params.token_min_chars, params.long_token_chars,
            params.unicode_min_chars, params.unicode_distinct_percent,
            [list(row) for row in params.run_min_distinct], [list(row) for row in params.token_min_distinct],
        )
        rate = None if is_replay or policy.max_lines_per_s is None else (float(policy.max_lines_per_s), float(policy.burst_lines))
        metric_rate = None if is_replay else (float(caps.max_points_per_s), float(caps.burst_points))
        self._core = module.Filter(
            scan, d.withhold_percent, d.window_lines, d.window_data_lines, d.window_data_bytes,
            policy.max_line_bytes, _u64(policy.max_shown_bytes), _u64(leak_budget_bytes), rate, metric_rate,
            _u64(caps.max_points_per_job), _u64(caps.max_step), caps.max_name_chars, caps.max_names,
            caps.significant_digits, caps.name_pattern == METRIC_NAME_PATTERN,
            _normalise, _parse_metric, lambda name: name_re.fullmatch(name) is not None,
        )

    def feed(self, line: str, now: float) -> list[Decision]:
        """Decisions for one output line, as PythonFilter.feed."""
        if line.endswith("\n"):
            line = line[:-1]
        return [_decision(r) for part in line.split("\n") for r in self._core.feed_line(to_bytes(part), now)]

    def feed_bytes(self, data: bytes, now: float, *, is_audited: bool = True) -> ChunkResult:
        """Every line of ``data`` decided natively; audit decisions only when ``is_audited``."""
        shown, records = self._core.feed_chunk(data, now, is_audited)
        return ChunkResult(shown, [_decision(r) for r in records])

    def feed_stream(self, data: bytes, now: float, *, is_audited: bool = True, write: Writer | None = None) -> ChunkResult:
        """As PythonFilter.feed_stream, with the unfinished line kept natively; ``write`` gets
        the shown bytes in pieces of about 64 KiB as they are decided."""
        shown, records = self._core.feed_stream(data, now, is_audited, write)
        return ChunkResult(shown, [_decision(r) for r in records])

    def end_stream(self, now: float, *, is_audited: bool = True, write: Writer | None = None) -> ChunkResult:
        """As PythonFilter.end_stream."""
        shown, records = self._core.end_stream(now, is_audited, write)
        return ChunkResult(shown, [_decision(r) for r in records])

    def flush(self, now: float) -> list[Decision]:
        """End of job: the marker for withheld lines not yet followed by a shown line."""
        marker = self._core.flush()
        return [] if marker is None else [Decision(Verdict.MARKER, marker[0], marker[1])]

    def counters(self) -> dict[str, Any]:
        """The job's counters so far, under PythonFilter's attribute names."""
        lines_in, passed, redacted, withheld, markers, shown, used, points, names, reasons = self._core.counters()
        return {
            "lines_in": lines_in, "lines_passed": passed, "lines_redacted": redacted, "lines_withheld": withheld,
            "markers": markers, "bytes_passed": shown, "budget_used": used, "metric_points": points,
            "metric_names": names, "reasons": reasons,
        }
