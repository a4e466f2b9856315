"""200 Job submissions to the training cluster: KubernetesExecutor vs bare Job creation.

Usage:
  .venv/bin/python benchmarks/k8s_jobs.py [--jobs 200] [--parallel 8]

Starts the harness's training control plane with 25 fake nodes of 8 whole GPUs (200 GPUs), then
submits `--jobs` one-GPU runs, `--parallel` at a time: once through KubernetesExecutor.start()
(namespace + deny-all policy ensured, snapshot ConfigMap, restricted Job) and once as a bare
minimal Job through the API (the baseline: what the executor adds on top). Reports the time to
submit all, and from the first submission until every pod is bound to a node (scheduled) and
Running (kwok), from a watch-free poll every 0.2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kubernetes import client as k8s  # noqa: E402

from arenahub.gateway.executors.base import RunLimits, RunSpec  # noqa: E402
from arenahub.gateway.executors.kubejobs import COMPETITION_ENV, KubeJobSettings  # noqa: E402
from arenahub.gateway.executors.kubernetes import KubernetesExecutor  # noqa: E402
from tests.k8s.harness import (  # noqa: E402
    TRAINING,
    build_pod_lifecycle_annotations,
    build_training_nodes,
    start_control_plane,
)

LONG_RUN = build_pod_lifecycle_annotations(run_s=3600)


def bare_job(name: str) -> dict:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"metadata": {"annotations": LONG_RUN}, "spec": {
                "restartPolicy": "Never", "nodeSelector": {"arenahub.io/pool": "training"},
                "containers": [{"name": "job", "image": "registry.invalid/job", "command": ["python3", "train.py"],
                                "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}}}}


def wait_all(core: k8s.CoreV1Api, namespace: str, jobs: int, started: float) -> tuple[float, float]:
    scheduled_at = running_at = 0.0
    while not running_at:
        pods = core.list_namespaced_pod(namespace).items
        if not scheduled_at and len(pods) >= jobs and all(p.spec.node_name for p in pods):
            scheduled_at = time.monotonic() - started
        if scheduled_at and sum(p.status.phase == "Running" for p in pods) >= jobs:
            running_at = time.monotonic() - started
        time.sleep(0.2)
    return scheduled_at, running_at


async def submit_executor(plane, jobs: int, parallel: int, code_dir: Path, competition: str) -> float:
    settings = KubeJobSettings(image="registry.invalid/arenahub/job:bench", pod_annotations=LONG_RUN)
    executor = KubernetesExecutor(settings, kubeconfig=plane.kubeconfig)
    limit = asyncio.Semaphore(parallel)

    async def one(i: int) -> None:
        spec = RunSpec(job_id=f"bench-{i:04d}", user=f"user{i % 20}", code_dir=code_dir, argv=["python3", "train.py"],
                       mounts=[], gpus=[0], limits=RunLimits(3600, 8 << 30, 14400, 512, 10 << 30),
                       env={COMPETITION_ENV: competition})
        async with limit:
            await executor.start(spec)

    started = time.monotonic()
    try:
        await asyncio.gather(*(one(i) for i in range(jobs)))
    finally:
        await executor.aclose()
    return time.monotonic() - started


def submit_bare(batch: k8s.BatchV1Api, namespace: str, jobs: int, parallel: int) -> float:
    from concurrent.futures import ThreadPoolExecutor

    started = time.monotonic()
    with ThreadPoolExecutor(parallel) as pool:
        list(pool.map(lambda i: batch.create_namespaced_job(namespace, bare_job(f"bare-{i:04d}")), range(jobs)))
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    code_dir = Path(tempfile.mkdtemp(prefix="bench-code-"))
    (code_dir / "train.py").write_text("print('epoch 1 loss=0.5')\n" * 50)
    plane = start_control_plane(TRAINING)
    rows = []
    try:
        nodes = -(-args.jobs // 8)
        plane.create_nodes(build_training_nodes(nodes, 8))
        with plane.api_client() as api:
            core, batch = k8s.CoreV1Api(api), k8s.BatchV1Api(api)
            competition = f"bench{secrets.token_hex(2)}"
            namespace = f"arenahub-runs-{competition}"
            started = time.monotonic()
            submit_s = asyncio.run(submit_executor(plane, args.jobs, args.parallel, code_dir, competition))
            rows.append(("KubernetesExecutor.start", submit_s, *wait_all(core, namespace, args.jobs, started)))
            print(rows[-1], flush=True)
            core.delete_namespace(namespace)
            while core.list_namespaced_pod(namespace).items:  # free the GPUs for the baseline
                time.sleep(0.5)
            plane.ensure_namespace("bare")
            started = time.monotonic()
            submit_s = submit_bare(batch, "bare", args.jobs, args.parallel)
            rows.append(("bare Job via the API (baseline)", submit_s, *wait_all(core, "bare", args.jobs, started)))
            print(rows[-1], flush=True)
    finally:
        plane.stop()
    print(f"\n{args.jobs} one-GPU Jobs, {args.parallel} submissions at a time, {nodes} nodes x 8 GPUs\n")
    print("| path | all submitted | all scheduled | all Running |\n|---|---|---|---|")
    for label, submit_s, scheduled_s, running_s in rows:
        print(f"| {label} | {submit_s:.1f} s | {scheduled_s:.1f} s | {running_s:.1f} s |")


if __name__ == "__main__":
    main()
