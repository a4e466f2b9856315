"""Stops a hub-managed gateway once the hub that started it has exited (a thread, no other I/O)."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

log = logging.getLogger(__name__)


def stop_when_parent_exits(parent_pid: int, *, interval_s: float = 1.0) -> threading.Thread:
    """Start a daemon thread that sends this process SIGTERM once ``parent_pid`` is no longer its parent.

    A process whose parent dies is re-parented (to init or a subreaper), so a changed
    ``getppid()`` means the hub is gone; SIGTERM lets uvicorn shut down gracefully. Running
    jobs are not affected: their supervisors do not depend on the gateway.
    """

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval_s)
        log.warning("The hub (pid %s) that started this gateway exited; stopping. Running jobs live on.", parent_pid)
        os.kill(os.getpid(), signal.SIGTERM)

    thread = threading.Thread(target=watch, name="arenahub-gateway-parent-watch", daemon=True)
    thread.start()
    return thread
