"""Sandbox start latency: LocalExecutor.start() -> first stdout record, and -> result, vs a bare subprocess.

Run as root: .venv/bin/python benchmarks/sandbox_start.py [--runs 20]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from arenahub.gateway.executors import RunLimits, RunSpec
from arenahub.gateway.executors.local import LocalExecutor

JOB = "print('first line', flush=True)\n"
LIMITS = RunLimits(wall_s=60, mem_bytes=1 << 30, cpu_s=60, max_procs=64, disk_bytes=256 << 20)


async def sandboxed(executor: LocalExecutor, code: Path) -> tuple[float, float]:
    started = time.perf_counter()
    spec = RunSpec(f"bench-{uuid.uuid4().hex[:10]}", "bench", code, ["python", "main.py"], [], [], LIMITS, {})
    handle = await executor.start(spec)
    first = None
    async for record in executor.read_logs(handle):
        if record.stream == "stdout" and first is None:
            first = time.perf_counter() - started
    await executor.result(handle)
    return first or float("nan"), time.perf_counter() - started


async def bare(code: Path) -> tuple[float, float]:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(sys.executable, "main.py", cwd=code, stdout=asyncio.subprocess.PIPE)
    assert proc.stdout is not None
    await proc.stdout.readline()
    first = time.perf_counter() - started
    await proc.wait()
    return first, time.perf_counter() - started


def _pcts(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    return f"p50 {statistics.median(values) * 1000:.0f} ms, p95 {q[18] * 1000:.0f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        (code / "main.py").write_text(JOB)
        executor = LocalExecutor(Path(tmp) / "state", poll_interval_s=0.05)
        sandbox_runs = [await sandboxed(executor, code) for _ in range(args.runs)]
        bare_runs = [await bare(code) for _ in range(args.runs)]
    for name, runs in (("sandboxed (LocalExecutor)", sandbox_runs), ("bare subprocess", bare_runs)):
        print(f"{name:26s} first line: {_pcts([r[0] for r in runs])};  whole run: {_pcts([r[1] for r in runs])}")


if __name__ == "__main__":
    asyncio.run(main())
