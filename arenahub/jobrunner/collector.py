"""The collector sidecar of a test run's pod: on SIGTERM it prints the outputs folder as one output frame.

Runs as a native sidecar (an init container with ``restartPolicy: Always``) from the job-runner
image, with the workspace mounted read-only. The kubelet sends it SIGTERM once the job's own
container has exited; it then packs ``--outputs`` (see ``arenahub.jobrunner.outputframe``),
writes the frame to its stdout, which the gateway reads through the pod-log API, and exits.
It must finish within the pod's terminationGracePeriodSeconds: ``--deadline-s`` is its budget.

    python3 -m arenahub.jobrunner.collector --outputs /workspace/outputs --max-bytes 7340032 --deadline-s 50
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import BinaryIO

from arenahub.jobrunner.outputframe import (
    DEFAULT_MAX_BYTES,
    OutputFrameError,
    build_frame,
    build_refusal,
    pack_outputs,
)

STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def hold_stop_signals() -> None:
    """Hold SIGTERM and SIGINT for ``signal.sigwait`` instead of dying of them.

    A handler is installed as well as the mask: as PID 1 of its container the collector would
    otherwise never be sent signals whose disposition is the default (pid_namespaces(7)).
    """
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: None)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)


def write_outputs(out: BinaryIO, outputs_dir: Path, *, max_bytes: int, deadline_s: float) -> bool:
    """Pack ``outputs_dir`` and write its frame (or a refusal line) to ``out``; True when a frame was written."""
    started = time.monotonic()
    try:
        packed = pack_outputs(outputs_dir, max_bytes=max_bytes, deadline=started + deadline_s)
    except OutputFrameError as exc:
        out.write((build_refusal(str(exc)) + "\n").encode())
        out.flush()
        return False
    summary = (f"arenahub collector: {packed.files} output files, {packed.file_bytes} bytes, "
               f"{len(packed.archive)} bytes packed in {time.monotonic() - started:.2f} s")
    if packed.skipped:
        # a count only: a file name is the participant's and could hold a newline and a fake frame
        summary += f"; skipped {len(packed.skipped)} symlinks or special files"
    out.write((summary + "\n").encode())
    for line in build_frame(packed.archive):
        out.write(line.encode("ascii") + b"\n")
    out.flush()
    return True


def main(argv: list[str] | None = None) -> int:
    """Entry point: wait for the stop signal, then print the frame; always exits 0 (the pod's
    phase follows the job's container, and the gateway reads the verdict from the log)."""
    parser = argparse.ArgumentParser(prog="python3 -m arenahub.jobrunner.collector", description=__doc__)
    parser.add_argument("--outputs", type=Path, required=True, help="the outputs folder (mounted read-only)")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES,
                        help="refuse when the compressed outputs exceed this many bytes")
    parser.add_argument("--deadline-s", type=float, default=50.0,
                        help="refuse when packing takes longer (keep it below terminationGracePeriodSeconds)")
    args = parser.parse_args(argv)
    hold_stop_signals()
    sys.stdout.write("arenahub collector: waiting for the job to end\n")
    sys.stdout.flush()
    signal.sigwait(STOP_SIGNALS)
    write_outputs(sys.stdout.buffer, args.outputs, max_bytes=args.max_bytes, deadline_s=args.deadline_s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
