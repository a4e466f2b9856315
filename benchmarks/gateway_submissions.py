"""Gateway submissions: 100 concurrent POST /jobs -- all accepted, none lost, throughput (issue 4).

Starts a real JupyterHub and ``python -m arenahub.gateway`` (SQLite or a throwaway PostgreSQL)
with one node of one GPU, so the jobs (each asking for that GPU) queue instead of starting 100
sandboxes at once on a small machine: the benchmark measures accepting and storing jobs.
Then it checks that GET /jobs lists every accepted id exactly once and cancels them all.
Baseline side by side: the same 100 submissions one after another on one connection.

Usage: .venv/bin/python benchmarks/gateway_submissions.py [--jobs 100] [--db sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.gateway_latency import Stack, gateway_stack, percentile  # noqa: E402 - repository root first
from tests.integration.gateway.archives import make_archive  # noqa: E402

SPEC = {"kind": "train", "entrypoint": "train.py", "gpus": 1, "time_limit_s": 60}
ARCHIVE = make_archive({"train.py": "print('hi')\n", "model.py": "x = 1\n" * 200})


async def submit_all(client: httpx.AsyncClient, jobs: int, concurrent: bool) -> tuple[float, list[float], list[httpx.Response]]:
    """(wall seconds, per-request seconds, replies) for ``jobs`` submissions."""

    async def one() -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        reply = await client.post("/jobs", files={"code": ("job.tgz", ARCHIVE)}, data={"spec": json.dumps(SPEC)})
        return time.perf_counter() - started, reply

    started = time.perf_counter()
    if concurrent:
        results = await asyncio.gather(*(one() for _ in range(jobs)))
    else:
        results = [await one() for _ in range(jobs)]
    wall = time.perf_counter() - started
    return wall, [r[0] for r in results], [r[1] for r in results]


async def check_and_cancel(client: httpx.AsyncClient, replies: list[httpx.Response]) -> tuple[int, int, int]:
    """(accepted, listed exactly once, lost) for the replies; cancels every job afterwards."""
    accepted = [r.json()["id"] for r in replies if r.status_code == 201]
    listed = [j["id"] for j in (await client.get("/jobs", params={"limit": 1000})).json()["jobs"]]
    once = sum(1 for job_id in accepted if listed.count(job_id) == 1)
    for job_id in accepted:
        await client.post(f"/jobs/{job_id}/cancel")
    return len(accepted), once, len(accepted) - once


async def run(stack: Stack, jobs: int) -> dict[str, tuple[float, list[float], tuple[int, int, int], list[int]]]:
    headers = {"Authorization": f"token {stack.token}"}
    limits = httpx.Limits(max_connections=jobs, max_keepalive_connections=jobs)
    results = {}
    for mode, concurrent in (("one after another (baseline)", False), (f"{jobs} concurrent", True)):
        async with httpx.AsyncClient(base_url=stack.gateway.url, headers=headers, timeout=120, limits=limits) as client:
            wall, latencies, replies = await submit_all(client, jobs, concurrent)
            counts = await check_and_cancel(client, replies)
            statuses = sorted({r.status_code for r in replies})
        results[mode] = (wall, latencies, counts, statuses)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    extra = {"ARENAHUB_GATEWAY_CLUSTER__NODES": '{"local": 1}'}
    with tempfile.TemporaryDirectory(prefix="arenahub-bench-") as tmp, gateway_stack(Path(tmp), args.db, extra) as stack:
        results = asyncio.run(run(stack, args.jobs))
    print(f"{args.jobs} submissions of a {len(ARCHIVE)}-byte job folder, database {args.db}\n")
    print("| mode | HTTP statuses | accepted | listed once | lost | wall s | jobs/s | p50 s | p95 s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for mode, (wall, latencies, (accepted, once, lost), statuses) in results.items():
        print(f"| {mode} | {statuses} | {accepted} | {once} | {lost} | {wall:.2f} | {args.jobs / wall:.1f} "
              f"| {percentile(latencies, 0.5):.3f} | {percentile(latencies, 0.95):.3f} |")


if __name__ == "__main__":
    main()
