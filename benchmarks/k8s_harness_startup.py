"""Start-up time of the Kubernetes test harness: build (cold or cached) and one or two control planes.

Usage:
  .venv/bin/python benchmarks/k8s_harness_startup.py [--repeat 3] [--cold] [--first-start-from CACHE]

--cold builds everything into a fresh, empty cache folder first (20+ minutes of CPU on a
2-core machine; it does not touch the real cache). Without it the script times build.sh on
the existing cache (the "nothing to do" path `make test` takes) and the control planes.
--first-start-from CACHE times the first start of one control plane (+ 2 nodes Ready) from the
binaries of another cache root (ARENAHUB_CACHE), e.g. one just filled by a cold build timed
separately: the "cold start" right after a build, before the cached starts.
Prints one line per measurement and a Markdown table at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.k8s.harness import (  # noqa: E402 - the repository root must be importable first
    CODING,
    TRAINING,
    ClusterSpec,
    ControlPlane,
    HarnessBinaries,
    build_default_nodes,
    find_binaries,
    start_control_plane,
    start_control_planes,
)
from tests.k8s.harness.binaries import BUILD_SCRIPT  # noqa: E402


def time_build(env: dict[str, str]) -> float:
    """Seconds build.sh takes with `env` (raises CalledProcessError when it fails)."""
    started = time.monotonic()
    subprocess.run([str(BUILD_SCRIPT)], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def folder_size_gib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**30


def with_nodes(planes: list[ControlPlane]) -> list[ControlPlane]:
    """Create each plane's default fake nodes and wait until they are Ready (what a test gets)."""
    try:
        for plane in planes:
            plane.create_nodes(build_default_nodes(plane.name))
    except BaseException:
        for plane in planes:
            plane.stop()
        raise
    return planes


def start_one(spec: ClusterSpec, binaries: HarnessBinaries | None = None) -> ControlPlane:
    return with_nodes([start_control_plane(spec, binaries)])[0]


def one_plane() -> list[ControlPlane]:
    return [start_one(CODING)]


def two_planes_one_after_the_other() -> list[ControlPlane]:
    coding = start_one(CODING)
    try:
        return [coding, start_one(TRAINING)]
    except BaseException:
        coding.stop()
        raise


def two_planes_at_once() -> list[ControlPlane]:
    return with_nodes(start_control_planes([CODING, TRAINING]))


def time_start(scenario: Callable[[], list[ControlPlane]], repeat: int) -> list[float]:
    """Wall-clock seconds until every plane of `scenario` has Ready nodes, `repeat` times."""
    times = []
    for _ in range(repeat):
        started = time.monotonic()
        planes = scenario()
        times.append(time.monotonic() - started)
        stop_started = time.monotonic()
        for plane in planes:
            plane.stop()
        print(f"  {scenario.__name__}: {times[-1]:.2f} s (stop {time.monotonic() - stop_started:.2f} s)", flush=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="also time a build into an empty cache")
    parser.add_argument("--first-start-from", type=Path, default=None, metavar="CACHE",
                        help="time one control plane's first start from the build in this cache root")
    args = parser.parse_args()
    rows: list[tuple[str, str]] = []
    if args.first_start_from is not None:
        fresh = find_binaries({"ARENAHUB_CACHE": str(args.first_start_from)}).require()
        started = time.monotonic()
        plane = start_one(CODING, fresh)
        first_s = time.monotonic() - started
        plane.stop()
        print(f"  first start from {fresh.bin_dir}: {first_s:.2f} s", flush=True)
        rows.append(("first start right after that build (one control plane + 2 nodes Ready)", f"{first_s:.1f} s"))
    if args.cold:
        cold_cache = Path(tempfile.mkdtemp(prefix="arenahub-cold-cache-"))
        try:
            cold_s = time_build({**os.environ, "ARENAHUB_CACHE": str(cold_cache)})
            rows.append(("build.sh, empty cache (cold)", f"{cold_s / 60:.1f} min"))
            rows.append(("cache size after a cold build", f"{folder_size_gib(cold_cache):.1f} GiB"))
        finally:
            shutil.rmtree(cold_cache, ignore_errors=True)
    cached_s = time_build(dict(os.environ))
    rows.append(("build.sh, everything cached", f"{cached_s:.2f} s"))
    binaries = find_binaries().require()
    rows.append(("bin folder size", f"{folder_size_gib(binaries.bin_dir) * 1024:.0f} MiB"))
    for label, scenario in [
        ("one control plane + 2 nodes Ready", one_plane),
        ("two control planes, one after the other", two_planes_one_after_the_other),
        ("two control planes, started in parallel", two_planes_at_once),
    ]:
        times = time_start(scenario, args.repeat)
        spread = f"min {min(times):.1f}, max {max(times):.1f}, n={len(times)}"
        rows.append((label, f"median {statistics.median(times):.1f} s ({spread})"))
    print("\n| measurement | result |\n|---|---|")
    for label, value in rows:
        print(f"| {label} | {value} |")


if __name__ == "__main__":
    main()
