"""Notebook spawns on KWOK GPU nodes through a real hub: VGPUKubeSpawner vs stock KubeSpawner.

Usage:
  .venv/bin/python benchmarks/k8s_spawn.py [--spawns 100] [--parallel 10] [--spawner vgpu|stock|both]

Starts the harness's coding control plane, 4 fake nodes of 8 H100s (HAMi resources), a hub with
the chosen spawner and a pre-bound PV per user, and a stand-in HTTP responder at each pod IP
(kwok runs no containers). Each spawn is POST /users/<u>/server until the server model says
ready; `--parallel` spawns run at once. Prints p50/p95/max spawn time, wall time, and the hub
process's CPU seconds and average CPU % over the run. Every server is stopped afterwards.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kubernetes import client as k8s  # noqa: E402

from tests.k8s.harness import CODING, GpuNodeShape, build_coding_nodes, start_control_plane  # noqa: E402
from tests.k8s.podservers import PodServers, ensure_home_volume  # noqa: E402
from tests.support.hub import RunningHub  # noqa: E402

QUARTER_LIMITS = {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "20480", "nvidia.com/gpucores": "25"}
COMMON = """
c.KubeSpawner.namespace = {namespace!r}
c.KubeSpawner.image = "registry.invalid/arenahub/notebook:test"
c.KubeSpawner.start_timeout = 120
c.KubeSpawner.http_timeout = 120
c.KubeSpawner.storage_pvc_ensure = True
c.KubeSpawner.storage_capacity = "10Gi"
c.KubeSpawner.volumes = [{{"name": "home", "persistentVolumeClaim": {{"claimName": "{{pvc_name}}"}}}}]
c.KubeSpawner.volume_mounts = [{{"name": "home", "mountPath": "/home/jovyan"}}]
c.JupyterHub.concurrent_spawn_limit = 200
c.Spawner.pre_spawn_hook = None  # the embedded hub's quota check asks the gateway (~1 s loaded): spawner only
"""
SPAWNERS = {
    "vgpu": 'c.JupyterHub.spawner_class = "arenahub.spawner.kube.VGPUKubeSpawner"\n',
    # the baseline asks for the same slice by hand: what an operator writes without arenahub
    "stock": ('c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"\n'
              f"c.KubeSpawner.extra_resource_limits = {QUARTER_LIMITS!r}\n"
              f"c.KubeSpawner.extra_resource_guarantees = {QUARTER_LIMITS!r}\n"
              'c.KubeSpawner.node_selector = {"arenahub.io/pool": "coding"}\n'
              'c.KubeSpawner.mem_limit = c.KubeSpawner.mem_guarantee = "8G"\n'),
}


def spawn_and_wait(hub: RunningHub, user: str) -> float:
    started = time.monotonic()
    with hub.api() as api:
        r = api.post(f"/users/{user}/server", json={"profile": "gpu-quarter"} if hub.extra_config.startswith(
            SPAWNERS["vgpu"]) else {})
        r.raise_for_status()
    hub.wait_ready(user, timeout=180)
    return time.monotonic() - started


def run(kind: str, spawns: int, parallel: int, plane) -> dict[str, float]:
    namespace = f"bench-{kind}"
    plane.ensure_namespace(namespace)
    users = [f"b{i:03d}" for i in range(spawns)]
    with plane.api_client() as api:
        core = k8s.CoreV1Api(api)
        for user in users:
            ensure_home_volume(core, namespace, f"claim-{user}")
        with PodServers(api, namespace):
            hub = RunningHub(Path(tempfile.mkdtemp(prefix=f"bench-hub-{kind}-")),
                             extra_config=SPAWNERS[kind] + COMMON.format(namespace=namespace))
            hub.start()
            try:
                for user in users:
                    hub.user_token(user)
                proc = psutil.Process(hub.proc.pid)
                cpu_before = sum(proc.cpu_times()[:2])
                started = time.monotonic()
                with ThreadPoolExecutor(parallel) as pool:
                    times = list(pool.map(lambda u: spawn_and_wait(hub, u), users))
                wall = time.monotonic() - started
                cpu = sum(proc.cpu_times()[:2]) - cpu_before
                with hub.api() as api_client:
                    for user in users:
                        api_client.delete(f"/users/{user}/server")
                for user in users:
                    hub.wait_stopped(user, timeout=120)
            finally:
                hub.stop()
        core.delete_namespace(namespace)
    times.sort()
    return {"p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))], "max": times[-1],
            "wall": wall, "hub_cpu_s": cpu, "hub_cpu_pct": 100 * cpu / wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--spawns", type=int, default=100)
    parser.add_argument("--parallel", type=int, default=10)
    parser.add_argument("--spawner", choices=["vgpu", "stock", "both"], default="both")
    args = parser.parse_args()
    kinds = ["vgpu", "stock"] if args.spawner == "both" else [args.spawner]
    plane = start_control_plane(CODING)
    os.environ["KUBECONFIG"] = str(plane.kubeconfig)  # the hub (a child process) talks to this cluster
    try:
        plane.create_nodes(build_coding_nodes(4, shape=GpuNodeShape(gpus=8), backends=("hami",)))
        rows = {}
        for kind in kinds:
            rows[kind] = run(kind, args.spawns, args.parallel, plane)
            print(kind, {k: round(v, 2) for k, v in rows[kind].items()}, flush=True)
    finally:
        plane.stop()
    print(f"\n{args.spawns} spawns, {args.parallel} at a time\n")
    print("| spawner | p50 | p95 | max | wall | hub CPU | hub CPU avg |\n|---|---|---|---|---|---|---|")
    for kind, r in rows.items():
        print(f"| {kind} | {r['p50']:.2f} s | {r['p95']:.2f} s | {r['max']:.2f} s | {r['wall']:.1f} s "
              f"| {r['hub_cpu_s']:.1f} s | {r['hub_cpu_pct']:.0f} % |")


if __name__ == "__main__":
    main()
