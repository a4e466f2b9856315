"""Run the outputs collector as a real process: wait for its first line, SIGTERM it, return its log."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

WAITING_LINE = b"arenahub collector: waiting for the job to end\n"


def log_after_sigterm(argv: list[str], *, cwd: Path | None = None, still_waiting_after_s: float = 0.0) -> str:
    """Start the collector, check it says it waits (and, after ``still_waiting_after_s``, still
    runs), send SIGTERM as the kubelet does, and return its stdout once it exited with status 0."""
    process = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        first = process.stdout.readline()
        assert first == WAITING_LINE, process.stderr.read()
        if still_waiting_after_s:
            time.sleep(still_waiting_after_s)
            assert process.poll() is None  # still waiting for the signal
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()
