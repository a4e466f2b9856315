"""The log gate: every output line of a run passes the pluggable log policy before it is stored or shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from arenahub.gateway.executors.base import LogRecord
from arenahub.gateway.logstore import MetricPoint, ShownLine, WithheldOriginal

Action = Literal["pass", "redact", "withhold", "marker"]


@dataclass(frozen=True)
class LogVerdict:
    """One output of a log policy.

    ``text``: what to show for pass, redact and marker; for withhold the original line, which
    goes to the admins' audit table and is never shown. ``original``: the line before a redact.
    ``metric``: (step, name, value) triples when the line is an admitted metric line.
    """

    action: Action
    text: str
    reason: str = ""
    original: str | None = None
    metric: list[tuple[int, str, float]] | None = None


class LogPolicy(Protocol):
    """Decides the lines of one run, in order (one instance per run: it may keep budgets)."""

    def feed(self, text: str, now: float) -> list[LogVerdict]:
        """Verdicts for one line: possibly a marker for earlier withheld lines, then the line's own."""
        ...

    def flush(self, now: float) -> list[LogVerdict]:
        """Verdicts owed at the end of the run (a final marker for withheld lines), if any."""
        ...


#: Makes a fresh LogPolicy per run; called with the competition's ``log_policy`` (a kind or an
#: inline mapping) when the job's dataset belongs to a competition, without arguments otherwise.
LogPolicyFactory = Callable[..., LogPolicy]


@dataclass(frozen=True)
class Released:
    """What one commit stores: shown lines, audit originals, metrics, and the log offset reached
    (None when no record was consumed, as for the end-of-run flush)."""

    lines: list[ShownLine] = field(default_factory=list)
    withheld: list[WithheldOriginal] = field(default_factory=list)
    metrics: list[MetricPoint] = field(default_factory=list)
    offset: int | None = None


class LogGate:
    """Turns one run's records into what is stored, numbering the shown lines 0, 1, 2 ...

    ``next_seq`` is the number of shown lines already stored (a re-attached run continues
    from there). Lines of the ``system`` stream come from the supervisor outside the sandbox
    (start and exit reports) and are shown as they are; every other line passes the policy.
    """

    def __init__(self, policy: LogPolicy, *, next_seq: int = 0) -> None:
        self.policy = policy
        self.next_seq = next_seq

    def feed(self, records: list[LogRecord], now: float) -> Released:
        """Decide ``records`` (in order); the offset is the last record's."""
        out = Released(offset=records[-1].offset if records else None)
        for record in records:
            if record.stream == "system":
                self._show(out, record, "pass", record.text)
                continue
            for verdict in self.policy.feed(record.text, now):
                self._apply(out, record, verdict)
        return out

    def flush(self, now: float, last: LogRecord | None) -> Released:
        """Decide what the policy owes at the end of the run (``last`` dates and audits it)."""
        out = Released()
        stamp = last or LogRecord(seq=-1, offset=0, ts=now, stream="system", text="")
        for verdict in self.policy.flush(now):
            self._apply(out, stamp, verdict)
        return out

    def _apply(self, out: Released, record: LogRecord, verdict: LogVerdict) -> None:
        if verdict.action == "withhold":
            out.withheld.append(WithheldOriginal(record.seq, record.ts, record.stream, verdict.text, "withhold", verdict.reason))
            return
        if verdict.action == "marker":
            self._show(out, record, "marker", verdict.text, stream="system")
            return
        if verdict.action == "redact":
            original = verdict.original if verdict.original is not None else record.text
            out.withheld.append(WithheldOriginal(record.seq, record.ts, record.stream, original, "redact", verdict.reason))
        seq = self._show(out, record, "metric" if verdict.metric else verdict.action, verdict.text)
        for step, name, value in verdict.metric or ():
            out.metrics.append(MetricPoint(seq, step, name, value, record.ts))

    def _show(self, out: Released, record: LogRecord, action: str, text: str, stream: str | None = None) -> int:
        seq = self.next_seq
        self.next_seq += 1
        out.lines.append(ShownLine(seq, record.ts, stream or record.stream, text, action))
        return seq
