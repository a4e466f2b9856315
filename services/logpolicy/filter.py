"""The streaming log filter of one job: every line in order, one or more Decisions out.

``LogFilter`` runs the open and filtered policies in the native core (``arenahub_logscan``,
built by services/logpolicy_native/build.sh) when it is installed, and everything else in the
pure-Python reference (arenahub.logpolicy.pyfilter); both give identical verdicts. ``feed``
takes one line (the gateway's path); ``feed_bytes`` takes whole chunks (the CLI's path).
"""

from __future__ import annotations

from typing import Any

from arenahub.logpolicy.backends import Backend, make_scanner, native_module
from arenahub.logpolicy.decision import Decision
from arenahub.logpolicy.metrics import metric_channel_bits
from arenahub.logpolicy.native import NativeFilter
from arenahub.logpolicy.policy import Policy
from arenahub.logpolicy.pyfilter import ChunkResult, PythonFilter, Writer
from arenahub.logpolicy.scanner import make_scan_params

__all__ = ["FINAL_MARKER_BITS", "ChunkResult", "LogFilter"]

# The one marker shown at the end after a budget ran out: its count is all it can carry.
FINAL_MARKER_BITS = 128


class LogFilter:
    """Decides one job's output lines under ``policy``.

    ``job_budget_bytes`` overrides the policy's leak budget for this job. ``is_replay`` turns
    off the per-second caps, for a recorded log whose timing is unknown (the CLI's default).
    ``backend``: 'auto' uses the native core where it is installed, 'python' the reference
    only, 'native' insists on the extension (ImportError without it). The whitelist policy
    always decides in Python (with the native scanner when there is one).
    """

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
        params = make_scan_params(policy.detection, policy.max_line_bytes, policy.policy != "open")
        self.scanner_name = make_scanner(params, backend).name
        module = native_module() if backend != "python" and policy.policy != "whitelist" else None
        self._core: NativeFilter | PythonFilter
        if module is not None:
            self._core = NativeFilter(policy, self.leak_budget_bytes, params, module, is_replay=is_replay)
        else:
            self._core = PythonFilter(policy, job_budget_bytes, is_replay=is_replay, backend=backend)
        self.core_name = "native" if module is not None else "python"

    def feed(self, line: str, now: float) -> list[Decision]:
        """Decisions for one output line (a trailing newline is ignored; embedded newlines
        split it), in order: a marker for earlier withheld lines may come first."""
        return self._core.feed(line, now)

    def feed_bytes(self, data: bytes, now: float, *, is_audited: bool = True) -> ChunkResult:
        """Decide every line in ``data`` (complete lines; only the very last may lack its
        newline): the shown bytes, and the withheld and redacted decisions when ``is_audited``."""
        return self._core.feed_bytes(data, now, is_audited=is_audited)

    def feed_stream(self, data: bytes, now: float, *, is_audited: bool = True, write: Writer | None = None) -> ChunkResult:
        """feed_bytes for any piece of a byte stream (the CLI reads fixed-size blocks): a line
        cut at the end of ``data`` waits for the rest of it in the next call. With ``write``
        (e.g. a pipe's write) the shown bytes go to it, in pieces as they are decided, instead
        of into the result, so whoever reads the pipe works while the filter does."""
        return self._core.feed_stream(data, now, is_audited=is_audited, write=write)

    def end_stream(self, now: float, *, is_audited: bool = True, write: Writer | None = None) -> ChunkResult:
        """The end of a feed_stream stream: decides its unfinished last line, if any (call
        ``flush`` after it for the final marker)."""
        return self._core.end_stream(now, is_audited=is_audited, write=write)

    def flush(self, now: float) -> list[Decision]:
        """End of job: the marker for withheld lines not yet followed by a shown line."""
        return self._core.flush(now)

    @property
    def budget_used(self) -> int:
        """Leak-budget bytes the job has shown so far."""
        return int(self._core.counters()["budget_used"])

    def summary(self) -> dict[str, Any]:
        """Counters for the job so far (the CLI prints this as JSON)."""
        c = self._core.counters()
        return {
            "policy": self.policy.policy,
            "lines_in": c["lines_in"],
            "lines_passed": c["lines_passed"],
            "lines_redacted": c["lines_redacted"],
            "lines_withheld": c["lines_withheld"],
            "bytes_passed": c["bytes_passed"],
            "reasons": dict(sorted(c["reasons"].items())),
            "markers": c["markers"],
            "metric_points": c["metric_points"],
            "metric_names": c["metric_names"],
            "leak_budget_bytes": self.leak_budget_bytes,
            "leak_budget_used_bytes": c["budget_used"],
            "declared_bits_per_job": self.declared_bits_per_job(),
            "scanner": self.scanner_name,
            "core": self.core_name,
        }

    def declared_bits_per_job(self) -> int | None:
        """Upper bound on the bits a job can show (None without a leak budget): 8 per budget
        byte, the metric channel's bits and the final marker's count. Timing is not counted."""
        if self.leak_budget_bytes is None:
            return None
        return 8 * self.leak_budget_bytes + metric_channel_bits(self.policy.metrics) + FINAL_MARKER_BITS
