"""Helpers every test tier uses to run real servers: free loopback ports, waiting for a process to
answer, and a uvicorn server inside the test's event loop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable

import httpx
import uvicorn


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate_group(proc: subprocess.Popen, grace_s: float = 30) -> None:
    """SIGTERM ``proc`` (a session leader) and wait ``grace_s``; then SIGKILL its whole process group."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def wait_until_answering(proc: subprocess.Popen, url: str, timeout_s: float, log_tail: Callable[[], str],
                         what: str = "hub") -> None:
    """Poll ``url`` until it answers 200; raises with the log's tail if ``proc`` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}:\n{log_tail()}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not answer in {timeout_s}s:\n{log_tail()}")


class InLoopServer:
    """An ASGI app served by uvicorn as a task of the running event loop (start and stop awaitable)."""

    def __init__(self) -> None:
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    async def serve(self, app, port: int, graceful_s: float = 2, timeout_s: float = 30) -> None:
        """Start serving ``app`` on 127.0.0.1:``port``; returns once it accepts connections."""
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                                    lifespan="on", timeout_graceful_shutdown=graceful_s))
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError("the server stopped during startup")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the server did not start within {timeout_s} s")
            await asyncio.sleep(0.02)

    async def shutdown(self) -> None:
        """Stop serving and wait for the app's shutdown to finish."""
        if self.server is not None and self.task is not None and not self.task.done():
            self.server.should_exit = True
            await self.task
