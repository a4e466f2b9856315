"""Code snapshots in ConfigMap parts: time of KubernetesExecutor.start() (pack + Job + every part
created) for 0.5, 3.5 and 12 MB archives, vs the single-ConfigMap executor for 0.5 MB.

Usage:
  .venv/bin/python benchmarks/k8s_code.py [--repeat 10] [--baseline-commit 3ef944da]

Starts the harness's training control plane. Each code folder is train.py plus incompressible
weights (os.urandom), so the packed archive is about the named size. For each size, starts
`--repeat` runs one after another and reports the median and worst start() time, the median time
spent packing (pack_snapshot alone), and the API part (start() minus packing). The baseline is the
executor as it was at `--baseline-commit` (one ConfigMap, at most 0.75 MB), loaded from git into
a temporary folder; it runs only the 0.5 MB case, the only one it accepts. Jobs are deleted
between runs (pods never start: the nodes have no training pool label here).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kubernetes import client as k8s  # noqa: E402

from arenahub.gateway.executors.base import RunLimits, RunSpec  # noqa: E402
from arenahub.gateway.executors.kubejobs import COMPETITION_ENV  # noqa: E402
from tests.k8s.harness import TRAINING, start_control_plane  # noqa: E402

SIZES_MB = (0.5, 3.5, 12.0)
BASELINE_COMMIT = "3ef944da1aded396c7c56e71b7a1ab2000e572ff"  # the last single-ConfigMap executor
MODULES = ("kubejobs", "kubernetes")


def load_baseline(commit: str, folder: Path) -> tuple[ModuleType, ModuleType]:
    """The executor modules as they were at ``commit``, importable as bench_old_kubejobs/kubernetes."""
    for name in MODULES:
        source = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:services/gateway/executors/{name}.py"],
                                check=True, capture_output=True, text=True).stdout
        source = source.replace("from arenahub.gateway.executors.kubejobs import", "from bench_old_kubejobs import")
        (folder / f"bench_old_{name}.py").write_text(source)
    sys.path.insert(0, str(folder))
    return tuple(importlib.import_module(f"bench_old_{name}") for name in MODULES)  # type: ignore[return-value]


def code_folder(root: Path, size_mb: float) -> Path:
    folder = root / f"code-{size_mb}"
    folder.mkdir()
    (folder / "train.py").write_text("print('epoch 1 loss=0.5')\n")
    (folder / "weights.bin").write_bytes(os.urandom(int(size_mb * 1_000_000)))
    return folder


def spec_for(code_dir: Path, competition: str) -> RunSpec:
    return RunSpec(job_id=f"b{secrets.token_hex(4)}", user="bench", code_dir=code_dir, argv=["python3", "train.py"],
                   mounts=[], gpus=[0], limits=RunLimits(3600, 8 << 30, 14400, 512, 10 << 30),
                   env={COMPETITION_ENV: competition})


async def time_starts(kubejobs: ModuleType, kubernetes: ModuleType, plane, code_dir: Path, competition: str,
                      repeat: int) -> tuple[list[float], list[float]]:
    """(start() seconds, pack_snapshot seconds) of ``repeat`` runs one after another."""
    settings = kubejobs.KubeJobSettings(image="registry.invalid/arenahub/job:bench",
                                        pool_selector={"arenahub.io/pool": "nowhere"})
    executor = kubernetes.KubernetesExecutor(settings, kubeconfig=plane.kubeconfig)
    starts, packs = [], []
    try:
        await executor.start(spec_for(code_dir, competition))  # warm: namespace, policy, connections
        for _ in range(repeat):
            began = time.perf_counter()
            kubernetes.pack_snapshot(code_dir)
            packs.append(time.perf_counter() - began)
            began = time.perf_counter()
            await executor.start(spec_for(code_dir, competition))
            starts.append(time.perf_counter() - began)
    finally:
        await executor.aclose()
    return starts, packs


def clear(plane, namespace: str) -> None:
    with plane.api_client() as api:
        batch = k8s.BatchV1Api(api)
        for job in batch.list_namespaced_job(namespace).items:
            batch.delete_namespaced_job(job.metadata.name, namespace, propagation_policy="Background")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-k8s-code-"))
    old = load_baseline(args.baseline_commit, root)
    new = (importlib.import_module("arenahub.gateway.executors.kubejobs"),
           importlib.import_module("arenahub.gateway.executors.kubernetes"))
    cases = [("single ConfigMap (baseline)", old, 0.5)] + [("ConfigMap parts", new, mb) for mb in SIZES_MB]
    plane = start_control_plane(TRAINING)
    rows = []
    try:
        for label, (kubejobs, kubernetes), size_mb in cases:
            competition = f"bench{secrets.token_hex(2)}"
            folder = code_folder(root, size_mb) if not (root / f"code-{size_mb}").exists() else root / f"code-{size_mb}"
            archive_bytes = len(new[1].pack_snapshot(folder))
            starts, packs = asyncio.run(time_starts(kubejobs, kubernetes, plane, folder, competition, args.repeat))
            clear(plane, f"arenahub-runs-{competition}")
            parts = -(-archive_bytes // 1_000_000) if kubejobs is new[0] else 1
            rows.append((label, size_mb, archive_bytes, parts, statistics.median(starts), max(starts),
                         statistics.median(packs)))
            print(rows[-1], flush=True)
    finally:
        plane.stop()
    print(f"\nKubernetesExecutor.start() until the Job and its code ConfigMap(s) exist, {args.repeat} runs each\n")
    print("| path | archive | ConfigMaps | start() median | start() max | of which packing (median) | API part (median) |")
    print("|---|---|---|---|---|---|---|")
    for label, _, archive_bytes, parts, median_s, max_s, pack_s in rows:
        print(f"| {label} | {archive_bytes / 1e6:.2f} MB | {parts} | {median_s * 1000:.0f} ms | {max_s * 1000:.0f} ms "
              f"| {pack_s * 1000:.0f} ms | {(median_s - pack_s) * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
