"""Time a gateway's startup sweep over local runs: LocalExecutor.find_runs and one result() per run.

Builds N ended run folders (run.json + result.json, as the supervisor leaves them) in a temporary
state folder and measures what ``Scheduler.adopt_unrecorded_runs`` costs when every one of them
belongs to a finished job (each is a stray whose result is read, none is cancelled). Needs root
and bubblewrap (LocalExecutor refuses otherwise).

    .venv/bin/python benchmarks/orphan_sweep.py --runs 200 2000 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from arenahub.gateway.executors.local import LocalExecutor, live_supervisors
from arenahub.gateway.executors.runconfig import RESULT_FILE, RUN_CONFIG


def make_runs(runs_dir: Path, count: int) -> None:
    """``count`` ended run folders, named like job ids."""
    result = json.dumps({"status": "succeeded", "exit_code": 0, "reason": "exit status 0", "finished_at": 1.0})
    for n in range(count):
        run_dir = runs_dir / f"{n:016x}"
        run_dir.mkdir()
        (run_dir / RUN_CONFIG).write_text("{}")
        (run_dir / RESULT_FILE).write_text(result)


async def sweep(executor: LocalExecutor) -> tuple[float, float, int]:
    """Seconds for find_runs and for reading every found run's result, and how many were found."""
    began = time.perf_counter()
    found = await executor.find_runs([])
    listed = time.perf_counter()
    for handle in found:
        assert await executor.result(handle) is not None
    return listed - began, time.perf_counter() - listed, len(found)


def main() -> None:
    """Print one row per run count: find_runs seconds, result() seconds, total."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[200, 2000, 10000])
    args = parser.parse_args()
    began = time.perf_counter()
    live_supervisors(Path("/nonexistent"))
    print(f"/proc scan alone: {1000 * (time.perf_counter() - began):.1f} ms "
          f"({sum(1 for p in Path('/proc').iterdir() if p.name.isdigit())} processes)")
    print("| runs | find_runs | result() of all | total |")
    print("|---|---|---|---|")
    for count in args.runs:
        with tempfile.TemporaryDirectory() as tmp:
            executor = LocalExecutor(Path(tmp), uid_slots_dir=Path(tmp) / "slots")
            make_runs(executor.runs_dir, count)
            listing, results, found = asyncio.run(sweep(executor))
            assert found == count
            print(f"| {count} | {listing * 1000:.0f} ms | {results * 1000:.0f} ms | {(listing + results) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
