"""The GPU sampler loop: every interval it reads NVML, finds each process's server or job, keeps the result and logs it."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import anyio.to_thread
import httpx

from arenahub.gateway.db import Database
from arenahub.gateway.executors.base import RunHandle
from arenahub.gateway.gpumon import (
    NvmlSnapshot,
    Owner,
    OwnerUsage,
    ProcessReading,
    attribute_usage,
    make_usage_records,
    owner_from_job,
    owners_from_hub_users,
)
from arenahub.gateway.gpumon_nvml import NvmlReader, read_parents
from arenahub.gateway.observability import GpuView
from arenahub.gateway.observability_store import load_running_jobs

log = logging.getLogger(__name__)
SAMPLES_DIR = "gpu-samples"


@dataclass(frozen=True)
class GpuSample:
    """One finished sampling pass: readings, the owners known then, their usage and unattributed processes."""

    snapshot: NvmlSnapshot
    owners: tuple[Owner, ...] = ()
    usages: tuple[OwnerUsage, ...] = ()
    strangers: tuple[ProcessReading, ...] = ()

    @property
    def view(self) -> GpuView:
        """What the Prometheus collector shows of this sample."""
        return GpuView(self.snapshot, self.usages)


@dataclass(frozen=True)
class HubAccess:
    """How the sampler asks the hub for servers' spawner state (the gateway service's own token)."""

    api_url: str
    token: str
    client: httpx.AsyncClient


async def fetch_notebook_owners(hub: HubAccess) -> list[Owner]:
    """Notebook servers with a GPU slice, from ``GET /users?state=active``; [] when the hub refuses or is down."""
    try:
        reply = await hub.client.get(f"{hub.api_url.rstrip('/')}/users", params={"state": "active"},
                                     headers={"Authorization": f"token {hub.token}"})
    except httpx.HTTPError as exc:
        log.warning("GPU sampler: the hub API is unreachable (%s); notebook processes stay unattributed", exc)
        return []
    if reply.status_code != 200:
        log.warning("GPU sampler: the hub answered %s to GET /users; give the gateway service the "
                    "admin:server_state and list:users scopes to attribute notebook processes", reply.status_code)
        return []
    return owners_from_hub_users(reply.json())


class GpuSampler:
    """Samples every ``interval_s`` seconds; ``latest`` is the newest sample (empty, with a reason, without GPUs).

    Samples of owners holding GPUs are appended to ``<state_dir>/gpu-samples/<UTC day>.jsonl``,
    which ``arenahub report utilisation`` reads.
    """

    def __init__(self, *, db: Database, hub: HubAccess | None, state_dir: Path, interval_s: float,
                 reader: NvmlReader | None = None, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.hub = hub
        self.samples_dir = state_dir / SAMPLES_DIR
        self.interval_s = interval_s
        self.reader = reader
        self.clock = clock
        self.latest = GpuSample(NvmlSnapshot(taken_at=0.0, error="the GPU sampler has not run yet"))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open NVML (in a thread: it can take a second) and start the loop."""
        if self.reader is None:
            self.reader = await anyio.to_thread.run_sync(NvmlReader)
        if not self.reader.available:
            first = self.reader.read(self.clock())
            log.info("GPU sampler: %s Reporting none.", first.error)
            self.latest = GpuSample(first)
            return  # nothing to sample, and nothing will appear without a driver restart
        self._task = asyncio.create_task(self._loop(), name="gpu-sampler")

    async def stop(self) -> None:
        """Stop the loop and close NVML."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self.reader is not None:
            self.reader.close()

    async def _loop(self) -> None:
        while True:
            try:
                await self.sample_once()
            except Exception:
                log.exception("GPU sampling pass failed; next try in %.0f s", self.interval_s)
            await asyncio.sleep(self.interval_s)

    async def sample_once(self) -> GpuSample:
        """Read NVML and the process tree, attribute processes to owners, keep and log the sample."""
        reader = self.reader or NvmlReader()
        snapshot = await anyio.to_thread.run_sync(reader.read, self.clock())
        if not snapshot.has_gpus:
            self.latest = GpuSample(snapshot)
            return self.latest
        owners = [*await self._job_owners(), *(await fetch_notebook_owners(self.hub) if self.hub else [])]
        parents = await anyio.to_thread.run_sync(read_parents)
        usages, strangers = attribute_usage(snapshot, parents, owners)
        self.latest = GpuSample(snapshot, tuple(owners), tuple(usages), tuple(strangers))
        records = make_usage_records(snapshot, owners, usages, self.interval_s)
        if records:
            await anyio.to_thread.run_sync(self._append, [asdict(r) for r in records], snapshot.taken_at)
        return self.latest

    async def _job_owners(self) -> list[Owner]:
        jobs = await self.db.read(load_running_jobs)
        owners = []
        for job in jobs:
            handle = RunHandle.from_json(job.run_handle or "")
            owners.append(owner_from_job(job_id=job.id, user=job.user, supervisor_pid=handle.supervisor_pid,
                                         gpus=list(job.gpus or ()), competition=str(job.spec.get("competition") or "")))
        return owners

    def _append(self, rows: list[dict[str, object]], now: float) -> None:
        self.samples_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        day = datetime.fromtimestamp(now, timezone.utc).strftime("%Y-%m-%d")
        with open(self.samples_dir / f"{day}.jsonl", "a", encoding="utf-8") as out:
            out.writelines(json.dumps(row, sort_keys=True) + "\n" for row in rows)
