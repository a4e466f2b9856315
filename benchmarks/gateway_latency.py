"""Gateway latency: submit a job -> its first output line seen by an SSE client (issue 4; target p50 <= 1.0 s).

Starts a real JupyterHub and ``python -m arenahub.gateway`` (real bubblewrap LocalExecutor,
SQLite or a throwaway PostgreSQL), then 20 times: POST /jobs with a job that prints one line,
open GET /jobs/{id}/logs as SSE at once, and time until the job's first stdout line arrives
(and, for reference, the first line of any stream: the supervisor's "starting" line).
Baseline side by side: the LocalExecutor alone (start -> first stdout record, no HTTP, no
database, no scheduler), which is the floor the gateway adds to.

Usage: .venv/bin/python benchmarks/gateway_latency.py [--runs 20] [--db sqlite|postgresql]
(needs root and bwrap, like the LocalExecutor).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.integration.gateway.archives import make_archive  # noqa: E402 - the repository root must be importable first
from tests.integration.gateway.processes import (  # noqa: E402
    GatewayProcess,
    HubProcess,
    free_port,
)
from tests.support.postgres import PostgresCluster  # noqa: E402

JOB = {"hello.py": "print('first line', flush=True)\n"}
SPEC = {"kind": "train", "entrypoint": "hello.py", "time_limit_s": 60}


@dataclass
class Stack:
    """A running hub and gateway, and a user token for the gateway."""

    hub: HubProcess
    gateway: GatewayProcess
    token: str


@contextmanager
def gateway_stack(root: Path, db: str, extra_env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start a hub, optionally PostgreSQL, and the gateway as the hub would; stop them afterwards."""
    hub = HubProcess(root / "hub").start()
    postgres = PostgresCluster().start() if db == "postgresql" else None
    gateway = None
    try:
        env = {
            "JUPYTERHUB_API_URL": hub.api_url,
            "JUPYTERHUB_API_TOKEN": hub.gateway_token,
            "JUPYTERHUB_SERVICE_PREFIX": "/services/arenahub-gateway/",
            "ARENAHUB_GATEWAY_PATHS__STATE_DIR": str(root / "state"),
            **({"ARENAHUB_GATEWAY_DB__URL": postgres.create_database("bench")} if postgres else {}),
            **(extra_env or {}),
        }
        gateway = GatewayProcess(env, free_port(), root / "gateway.log").start()
        yield Stack(hub, gateway, hub.token_for("bench-user"))
    finally:
        if gateway is not None:
            gateway.stop()
        if postgres is not None:
            postgres.stop()
        hub.stop()


async def first_lines(client: httpx.AsyncClient, job_id: str, started: float) -> tuple[float, float]:
    """Seconds from ``started`` to the first SSE line of any stream and to the first stdout line."""
    first_any = None
    async with client.stream("GET", f"/jobs/{job_id}/logs") as reply:
        async for line in reply.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = json.loads(line[5:])
            if "stream" not in data:
                raise RuntimeError(f"job {job_id} ended without a stdout line: {data}")
            first_any = first_any or time.perf_counter() - started
            if data["stream"] == "stdout":
                return first_any, time.perf_counter() - started
    raise RuntimeError(f"the stream of job {job_id} closed without a stdout line")


async def measure_gateway(stack: Stack, runs: int) -> list[tuple[float, float]]:
    """(first any line, first stdout line) latencies of ``runs`` sequential submissions."""
    archive = make_archive(JOB)
    results = []
    headers = {"Authorization": f"token {stack.token}"}
    async with httpx.AsyncClient(base_url=stack.gateway.url, headers=headers, timeout=60) as client:
        for _ in range(runs):
            started = time.perf_counter()
            reply = await client.post("/jobs", files={"code": ("job.tgz", archive)}, data={"spec": json.dumps(SPEC)})
            reply.raise_for_status()
            results.append(await first_lines(client, reply.json()["id"], started))
    return results


async def measure_executor_alone(root: Path, runs: int) -> list[float]:
    """Baseline: LocalExecutor.start -> first stdout record, without the gateway around it."""
    from arenahub.gateway.executors.base import RunLimits, RunSpec
    from arenahub.gateway.executors.local import LocalExecutor

    executor = LocalExecutor(root / "executor-state")
    code = root / "code"
    code.mkdir()
    for name, text in JOB.items():
        (code / name).write_text(text)
    limits = RunLimits(wall_s=60, mem_bytes=2**30, cpu_s=60, max_procs=64, disk_bytes=2**28)
    timings = []
    for n in range(runs):
        spec = RunSpec(job_id=f"baseline{n}", user="bench", code_dir=code, argv=["python3", "hello.py"],
                       mounts=[], gpus=[], limits=limits, env={})
        started = time.perf_counter()
        handle = await executor.start(spec)
        async for record in executor.read_logs(handle):
            if record.stream == "stdout":
                timings.append(time.perf_counter() - started)
                break
        while await executor.result(handle) is None:
            await asyncio.sleep(0.05)
    return timings


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by linear interpolation."""
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1] if len(values) > 1 else values[0]


def row(name: str, values: list[float]) -> str:
    return (f"| {name} | {len(values)} | {percentile(values, 0.5):.3f} | {percentile(values, 0.95):.3f} "
            f"| {min(values):.3f} | {max(values):.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arenahub-bench-") as tmp:
        root = Path(tmp)
        baseline = asyncio.run(measure_executor_alone(root, args.runs))
        with gateway_stack(root, args.db) as stack:
            asyncio.run(measure_gateway(stack, 2))  # warm-up, not counted
            gateway = asyncio.run(measure_gateway(stack, args.runs))
    print(f"Submit -> first line over SSE, {args.runs} runs, database {args.db} (seconds)\n")
    print("| measurement | runs | p50 | p95 | min | max |\n|---|---|---|---|---|---|")
    print(row("gateway: submit -> first stdout line (SSE)", [g[1] for g in gateway]))
    print(row("gateway: submit -> first line of any stream (SSE)", [g[0] for g in gateway]))
    print(row("baseline: LocalExecutor.start -> first stdout record", baseline))


if __name__ == "__main__":
    main()
