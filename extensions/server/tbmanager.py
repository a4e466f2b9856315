"""TensorBoard for one user: event files written from the gateway's stored metrics, served on a private socket.

``group_metric_events`` and ``make_run_name`` are pure; ``TensorBoardManager`` writes the files
(one folder per job) and starts ``arenahub.extensions.tbserver`` once, on first use.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from arenahub.core.errors import ServiceUnavailable
from arenahub.extensions.gatewayclient import GatewayClient
from arenahub.sdk.tbevents import ScalarEventWriter

log = logging.getLogger(__name__)

JOBS_SHOWN = 50
METRICS_PAGE = 10_000


@dataclass(frozen=True)
class ScalarEvent:
    """The values of one metric line: wall time (Unix s), step and name -> value."""

    wall_time: float
    step: int
    values: dict[str, float]


def group_metric_events(metrics: Iterable[Mapping[str, Any]]) -> list[ScalarEvent]:
    """Gateway metric rows (seq, step, name, value, ts) grouped back into one event per metric line."""
    events: list[ScalarEvent] = []
    last_seq: object = None
    for row in metrics:
        if events and row["seq"] == last_seq:
            events[-1].values[str(row["name"])] = float(row["value"])
        else:
            events.append(ScalarEvent(float(row["ts"]), int(row["step"]), {str(row["name"]): float(row["value"])}))
        last_seq = row["seq"]
    return events


def make_run_name(job: Mapping[str, Any]) -> str:
    """The TensorBoard run name of a job: creation time (UTC), kind and id, e.g. ``1123-154210-train-3fa2``."""
    created = time.strftime("%m%d-%H%M%S", time.gmtime(float(job.get("created_at") or 0)))
    return f"{created}-{job.get('kind', 'job')}-{job['id']}"


@dataclass
class _JobFile:
    run: str
    writer: ScalarEventWriter
    cursor: int = 0
    done: bool = False
    written: int = 0


@dataclass
class TensorBoardManager:
    """Keeps ``logdir`` in step with the user's jobs and runs TensorBoard on ``socket_path``."""

    logdir: Path
    socket_path: Path
    path_prefix: str
    reload_s: int = 5
    start_timeout_s: float = 90.0
    _jobs: dict[str, _JobFile] = field(default_factory=dict)
    _proc: asyncio.subprocess.Process | None = None
    _sync_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _start_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_used: float = 0.0

    def reset(self) -> None:
        """Empty the event folder: it is a cache, rebuilt from the gateway on the next sync."""
        shutil.rmtree(self.logdir, ignore_errors=True)
        self.logdir.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def sync(self, client: GatewayClient) -> int:
        """Append metrics the gateway stored since the last sync; returns how many values were written."""
        async with self._sync_lock:
            listing = await client.fetch_json("jobs", {"limit": JOBS_SHOWN})
            written = 0
            for job in listing.get("jobs", []):
                entry = self._jobs.get(job["id"])
                if entry is None:
                    run = make_run_name(job)
                    entry = self._jobs[job["id"]] = _JobFile(run, ScalarEventWriter(self.logdir / run))
                if entry.done:
                    continue
                final = job.get("status") not in ("queued", "running")
                while True:
                    page = await client.fetch_json(
                        f"jobs/{job['id']}/metrics", {"after": entry.cursor, "limit": METRICS_PAGE}
                    )
                    rows = page.get("metrics", [])
                    for event in group_metric_events(rows):
                        entry.writer.add_scalars(event.step, event.values, wall_time=event.wall_time)
                        written += len(event.values)
                        entry.written += len(event.values)
                    entry.cursor = int(page.get("next_after", entry.cursor))
                    if len(rows) < METRICS_PAGE:
                        break
                if final:
                    entry.done = True
                    entry.writer.close()
            return written

    @property
    def is_running(self) -> bool:
        """True while the TensorBoard process lives."""
        return self._proc is not None and self._proc.returncode is None

    async def ensure_running(self) -> None:
        """Start TensorBoard unless it runs; returns once its socket answers.

        Raises ServiceUnavailable when it does not start within ``start_timeout_s``.
        """
        async with self._start_lock:
            if self.is_running:
                return
            # A fresh TensorBoard starts from a fresh cache: the next sync rewrites every job's file.
            self._close_writers()
            self.reset()
            log_path = self.logdir.parent / "tensorboard.log"
            with open(log_path, "ab") as out:
                self._proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "arenahub.extensions.tbserver", "--socket", str(self.socket_path),
                    "--logdir", str(self.logdir), "--path-prefix", self.path_prefix, "--reload-s", str(self.reload_s),
                    stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
                )
            deadline = time.monotonic() + self.start_timeout_s
            async with self.upstream() as http:
                while time.monotonic() < deadline:
                    if self._proc.returncode is not None:
                        break
                    try:
                        await http.get(self.path_prefix.rstrip("/") + "/data/environment", timeout=2)
                        log.info("TensorBoard started (pid %s) for %s", self._proc.pid, self.logdir)
                        return
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
            tail = log_path.read_text(errors="replace")[-500:] if log_path.exists() else ""
            await self.stop()
            raise ServiceUnavailable(
                "TensorBoard did not start in your notebook server; try again. If it keeps failing, "
                "restart your server from the hub.",
                reason="tensorboard-failed",
                log_detail=tail,
            )

    async def wait_until_loaded(self, timeout_s: float = 20.0) -> bool:
        """Wait until TensorBoard lists every run that has scalars on disk; True when it does.

        TensorBoard reads new event files only every ``reload_s``: a page served before that
        would say "No dashboards are active" and stay so until the user reloads it.
        """
        wanted = {entry.run for entry in self._jobs.values() if entry.written}
        deadline = time.monotonic() + timeout_s
        async with self.upstream() as http:
            while True:
                try:
                    reply = await http.get(self.path_prefix.rstrip("/") + "/data/runs", timeout=5)
                    if reply.status_code == 200 and wanted <= set(reply.json()):
                        return True
                except (httpx.TransportError, ValueError):
                    pass
                if time.monotonic() >= deadline:
                    return False
                await asyncio.sleep(0.5)

    def upstream(self) -> httpx.AsyncClient:
        """An HTTP client that talks to TensorBoard over its socket (paths are the full proxied paths)."""
        return httpx.AsyncClient(
            transport=httpx.AsyncHTTPTransport(uds=str(self.socket_path)), base_url="http://tensorboard", timeout=60
        )

    async def stop(self) -> None:
        """Stop TensorBoard (if this manager started it) and close the event files."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self._close_writers()

    def _close_writers(self) -> None:
        for entry in self._jobs.values():
            if not entry.done:
                entry.writer.close()
        self._jobs.clear()
