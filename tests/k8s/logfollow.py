"""Helpers for following a growing pod log on the harness: append CRI lines, count the API server's log requests."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tests.k8s.harness import ControlPlane
from tests.k8s.harness.kwok import format_cri_log


def append_log_lines(log_file: Path, lines: list[str]) -> None:
    """Append ``lines`` to a log file kwok serves (the running pod 'prints' them)."""
    with open(log_file, "a") as log:
        log.write(format_cri_log(lines, datetime.now(timezone.utc)))


def log_request_count(cluster: ControlPlane) -> float:
    """How many ``pods/log`` requests the API server has finished since it started (its
    ``apiserver_request_total`` metric; a followed log counts once it has ended)."""
    with cluster.api_client() as api:
        response = api.call_api("GET", f"{cluster.server}/metrics")
        text = response.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("apiserver_request_total{") and 'subresource="log"' in line)


def settled_log_request_count(cluster: ControlPlane, timeout_s: float = 10.0) -> float:
    """log_request_count once it has stopped changing (closed streams are counted a moment later)."""
    deadline, last = time.monotonic() + timeout_s, log_request_count(cluster)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = log_request_count(cluster)
        if now == last:
            return now
        last = now
    return last


async def grow_log(log_file: Path, batches: list[list[str]], interval_s: float,
                   appended_at: dict[str, float] | None = None) -> None:
    """Append one batch every ``interval_s``; ``appended_at`` gets each line's monotonic time."""
    for batch in batches:
        await asyncio.sleep(interval_s)
        if appended_at is not None:
            appended_at.update({line: time.monotonic() for line in batch})
        append_log_lines(log_file, batch)


async def collect(records: Any, into: list, received_at: dict[str, float] | None = None) -> None:
    """Put every record of an async iterator into ``into`` (and its arrival time by text)."""
    async for record in records:
        into.append(record)
        if received_at is not None:
            received_at[record.text] = time.monotonic()
