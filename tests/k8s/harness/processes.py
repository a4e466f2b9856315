"""Child processes of the harness: start with a log file, wait until healthy, stop cleanly."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

LOOPBACK = "127.0.0.1"


class ComponentFailed(RuntimeError):
    """A control-plane component exited or did not become healthy in time."""


# Ports this process has handed out: two control planes started at once (threads) must not
# be given the same just-closed port by the kernel.
_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """`count` distinct TCP ports that were free on `host` a moment ago and that this process
    has not handed out before.

    Another process could still take one before the component binds it; the component then
    exits with "address already in use" (see is_port_clash) and the caller may retry.
    """
    sockets: list[socket.socket] = []
    with _handed_out_lock:
        try:
            while len(sockets) < count:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind((host, 0))
                if s.getsockname()[1] in _handed_out:
                    s.close()
                    continue
                sockets.append(s)
            ports = [s.getsockname()[1] for s in sockets]
            _handed_out.update(ports)
            return ports
        finally:
            for s in sockets:
                s.close()


def is_port_clash(error: BaseException) -> bool:
    """True if a ComponentFailed came from a port another process took first."""
    return isinstance(error, ComponentFailed) and "address already in use" in str(error)


def log_tail(path: Path, max_lines: int = 25) -> str:
    """The last lines of a component's log, for error messages."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(lines[-max_lines:])


@dataclass
class ManagedProcess:
    """One running component; its stdout and stderr go to `log_path`."""

    name: str
    args: Sequence[str]
    log_path: Path
    env: Mapping[str, str] | None = None
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> "ManagedProcess":
        """Start it in its own session (so stop() reaches any children too); returns self."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                list(self.args),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=dict(self.env) if self.env is not None else None,
                start_new_session=True,
            )
        return self

    @property
    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def check_running(self) -> None:
        """Raise ComponentFailed with the log's tail if the process has exited."""
        if self.popen is None:
            raise ComponentFailed(f"{self.name} was never started")
        code = self.popen.poll()
        if code is not None:
            raise ComponentFailed(
                f"{self.name} exited with status {code}; last lines of {self.log_path}:\n{log_tail(self.log_path)}"
            )

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM the process group, SIGKILL what is left after `timeout_s`; safe to repeat."""
        if self.popen is None or self.popen.poll() is not None:
            return
        pgid = self.popen.pid  # start_new_session: the pid is the process-group id
        try:
            os.killpg(pgid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.popen.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(timeout=timeout_s)


def wait_until(
    what: str,
    probe: Callable[[], bool],
    *,
    timeout_s: float,
    watched: Sequence[ManagedProcess] = (),
    interval_s: float = 0.1,
    max_interval_s: float = 1.0,
) -> None:
    """Call `probe` until it returns True; raise ComponentFailed after `timeout_s` or as soon
    as one of `watched` exits. Probe exceptions count as "not yet"."""
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        for process in watched:
            process.check_running()
        try:
            if probe():
                return
        except Exception as e:  # noqa: BLE001 - any failure of a probe means "not ready yet"
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            logs = "".join(f"\n--- {p.name} ({p.log_path}):\n{log_tail(p.log_path)}" for p in watched)
            raise ComponentFailed(f"timed out after {timeout_s:g} s waiting for {what}{detail}{logs}")
        time.sleep(interval_s)
        interval_s = min(interval_s * 1.5, max_interval_s)


def http_ok(url: str, ssl_context: ssl.SSLContext | None = None, timeout_s: float = 2.0) -> bool:
    """True if GET `url` answers 200 (used for /health, /readyz, /healthz)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s, context=ssl_context) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
