"""What the log filter says about each line: the verdict, the shown text and the reason code."""

from __future__ import annotations

from collections import Counter
from enum import Enum
from typing import NamedTuple

from arenahub.core.metricline import MetricPoint

# Reason codes (stable; clients and the audit store may branch on them).
REASONS = {
    "encoded-data": "base64, base32, hex, decimal, number lists or random tokens in the line",
    "split-payload": "data-only lines in a row, as when a payload is split across lines",
    "line-too-long": "the line was cut at max_line_bytes",
    "rate-limit": "more lines per second than max_lines_per_s allows",
    "leak-budget": "the job has shown its leak_budget_bytes of free-form output",
    "shown-bytes-cap": "the job has shown max_shown_bytes",
    "not-whitelisted": "the line matches no template of the whitelist policy",
    "traceback-detail": "library frames and source lines of a traceback (whitelist)",
    "exception-truncated": "an exception or warning message was cut (whitelist)",
    "metric-malformed": "a line starts like a metric line but breaks the format",
    "metric-step": "a metric step above metrics.max_step",
    "metric-name": "a metric name breaks metrics.name_pattern or max_name_chars",
    "metric-names-cap": "more distinct metric names than metrics.max_names",
    "metric-rate": "more metric values per second than metrics.max_points_per_s allows",
    "metric-points-cap": "more metric values than metrics.max_points_per_job",
}


class Verdict(str, Enum):
    """The four actions; compares equal to its string value ('pass', 'redact', ...)."""

    PASS = "pass"
    REDACT = "redact"
    WITHHOLD = "withhold"
    MARKER = "marker"


class Decision(NamedTuple):
    """One output of the filter (an immutable tuple: a chunk can produce many).

    ``text`` is what to show for pass, redact and marker. For withhold, ``text`` is the
    original line: store it in the admin-only audit store, never show it. For redact,
    ``original`` is the line before redaction (for the audit store too). ``line_no`` is the
    1-based input line (None for markers, which stand for the withheld lines before them).
    """

    action: Verdict
    text: str
    reason: str = ""
    line_no: int | None = None
    is_metric: bool = False
    metric: MetricPoint | None = None
    original: str | None = None

    @property
    def is_shown(self) -> bool:
        """True for pass, redact and marker: ``text`` goes to the participant."""
        return self.action is not Verdict.WITHHOLD


def make_marker_text(reasons: Counter[str]) -> str:
    """The visible line standing for withheld lines, e.g. '[12 lines withheld: encoded-data]'."""
    total = sum(reasons.values())
    noun = "line" if total == 1 else "lines"
    if len(reasons) == 1:
        detail = next(iter(reasons))
    else:
        ordered = sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
        detail = ", ".join(f"{count} {reason}" for reason, count in ordered)
    return f"[{total} {noun} withheld: {detail}]"
