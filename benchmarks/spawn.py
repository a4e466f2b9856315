"""Spawn-to-ready of arenahub's sandboxed vGPU spawner versus stock SimpleLocalProcessSpawner.

Both run on the same embedded hub configuration (same proxy, database, machine and run); only
the spawner class differs. "Ready" means the proxy answers 200 for the server's API with
the user's own token. Usage: python benchmarks/spawn.py [--sequential 20] [--concurrent 10]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.hub import RunningHub  # noqa: E402

FAKE_GPUS = [{"index": i, "name": "FakeGPU", "mem_mib": 16000} for i in range(4)]
STOCK = """
c.JupyterHub.spawner_class = 'jupyterhub.spawner.SimpleLocalProcessSpawner'
c.SimpleLocalProcessSpawner.home_dir_template = '{data}/stock-homes/{{username}}'
c.Spawner.cmd = ['jupyterhub-singleuser']
c.Spawner.args = ['--allow-root']  # the hub runs as root here; stock refuses root otherwise
c.Spawner.environment = {{}}
"""


def spawn_and_wait(hub: RunningHub, name: str, token: str, options: dict) -> float | None:
    """Seconds from the spawn request to a 200 from the server's API via the proxy (None: failed)."""
    began = time.perf_counter()
    with httpx.Client(timeout=120) as http:
        r = http.post(f"{hub.url}/hub/api/users/{name}/server", json={"user_options": options},
                      headers={"Authorization": f"token {token}"})
        if r.status_code not in (201, 202):
            return None
        deadline = began + 300
        while time.perf_counter() < deadline:
            r = http.get(f"{hub.url}/user/{name}/api", headers={"Authorization": f"token {token}"})
            if r.status_code == 200:
                return time.perf_counter() - began
            with hub.api() as api:
                model = api.get(f"/users/{name}").json()["servers"].get("")
            if not model:  # the hub gave up on the spawn
                return None
            time.sleep(0.02)
    return None


def stop(hub: RunningHub, names: list[str]) -> None:
    with hub.api() as api:
        for n in names:
            api.delete(f"/users/{n}/server")
    for n in names:
        hub.wait_stopped(n, timeout=120)


def measure(label: str, hub: RunningHub, options: dict, sequential: int, concurrent: int) -> dict:
    seq = []
    for i in range(sequential):
        name = f"{label}-s{i}"
        t = spawn_and_wait(hub, name, hub.user_token(name), options)
        seq.append(t)
        stop(hub, [name])
    names = [f"{label}-c{i}" for i in range(concurrent)]
    tokens = {n: hub.user_token(n) for n in names}
    began = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrent) as pool:
        results = list(pool.map(lambda n: spawn_and_wait(hub, n, tokens[n], options), names))
    wall = time.perf_counter() - began
    stop(hub, [n for n, r in zip(names, results)])
    ok = [t for t in seq if t is not None]
    return {
        "spawner": label,
        "sequential_n": sequential, "sequential_failed": sequential - len(ok),
        "p50_s": round(statistics.median(ok), 3) if ok else None,
        "p95_s": round(sorted(ok)[max(0, int(len(ok) * 0.95) - 1)], 3) if ok else None,
        "concurrent_n": concurrent, "concurrent_ok": sum(r is not None for r in results),
        "concurrent_wall_s": round(wall, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sequential", type=int, default=20)
    ap.add_argument("--concurrent", type=int, default=10)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label in ("stock", "arenahub"):
            data = Path(tmp) / label
            extra = STOCK.format(data=data) if label == "stock" else ""
            hub = RunningHub(data, {"gpus": FAKE_GPUS, "cull": {"enabled": False}}, extra_config=extra).start()
            try:
                options = {} if label == "stock" else {"profile": "gpu-quarter"}
                rows.append(measure(label, hub, options, args.sequential, args.concurrent))
            finally:
                hub.stop()
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"machine": platform.node(), "cpus": __import__("os").cpu_count(), "results": rows}, indent=2))


if __name__ == "__main__":
    main()
