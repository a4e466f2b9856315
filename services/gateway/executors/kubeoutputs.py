"""A test run's outputs from its collector sidecar's log: verified, unpacked, or refused with a reason for the participant."""

from __future__ import annotations

from pathlib import Path

from arenahub.gateway.executors.base import OutputsUnavailable
from arenahub.jobrunner.outputframe import (
    OutputFrameError,
    OutputsRefused,
    OutputsTooLarge,
    read_frame,
    unpack_outputs,
)

OUTPUTS_FOLDER = "outputs"  # inside the caller's dest


def _size(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{n} bytes"


def unpack_collector_log(log: bytes, dest: Path, *, job_id: str, max_bytes: int) -> Path:
    """Verify the output frame in ``log`` (the collector container's log) and unpack it into
    ``dest/outputs``; returns that folder.

    Raises OutputsUnavailable: with the collector's reason when it refused (too large, too many
    files, out of time), when the frame is over ``max_bytes``, and when it is missing,
    truncated or damaged (then the participant is told it is not their code's fault).
    """
    target = dest / OUTPUTS_FOLDER
    try:
        archive = read_frame(log.decode("utf-8", errors="replace").splitlines(), max_bytes=max_bytes)
        target.mkdir()
        unpack_outputs(archive, target)
    except (OutputsRefused, OutputsTooLarge) as exc:
        raise OutputsUnavailable(
            f"Your test run finished, but its outputs were not collected: {exc}. Runs on the training "
            f"cluster may leave at most {_size(max_bytes)} of compressed outputs in $ARENAHUB_OUTPUT_DIR; "
            "write fewer or smaller files there and submit again.",
            reason="outputs-too-large", log_detail=f"job {job_id}: {exc}",
        ) from None
    except OutputFrameError as exc:
        raise OutputsUnavailable(
            "Your test run finished, but its outputs could not be collected from the training cluster "
            "(their record is missing or damaged). This is not caused by your code: submit the run again, "
            f"and if it happens again tell the organisers, quoting job {job_id}.",
            reason="outputs-missing", log_detail=f"job {job_id}: collector log: {exc}",
        ) from None
    return target
