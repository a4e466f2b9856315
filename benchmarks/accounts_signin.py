"""Sign-in latency of ArenaAuthenticator (bcrypt cost 12) versus stock DummyAuthenticator.

Both hubs run the embedded configuration (``arenahub run``, same proxy, database, machine and
run); only ``authenticator`` differs. A sign-in is GET /hub/login then POST /hub/login until
the 302. While sign-ins run on parallel clients, a probe times GET /hub/api/ to show that
hashing does not stall the hub's event loop.
Usage: python benchmarks/accounts_signin.py [--sequential 15] [--parallel 4] [--seconds 6]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import re
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.hub import RunningHub  # noqa: E402

PASSWORD = "bench-password-1"
XSRF = re.compile(r'name="_xsrf" value="([^"]+)"')


def sign_in(url: str, name: str) -> float:
    """Seconds for one sign-in through the login form; raises when it does not succeed."""
    with httpx.Client(base_url=url, timeout=60, follow_redirects=False) as web:
        began = time.perf_counter()
        page = web.get("/hub/login")
        found = XSRF.search(page.text)
        if not found:
            raise RuntimeError(f"no login form: {page.status_code}")
        r = web.post("/hub/login", data={"_xsrf": found.group(1), "username": name, "password": PASSWORD})
        if r.status_code != 302:
            raise RuntimeError(f"sign-in of {name} failed: {r.status_code}")
        return time.perf_counter() - began


def under_load(url: str, names: list[str], seconds: float) -> dict:
    """Sign-ins/s of len(names) parallel clients, and GET /hub/api/ latency meanwhile (ms)."""
    stop = threading.Event()
    done: list[float] = []

    def loop(name: str) -> None:
        while not stop.is_set():
            done.append(sign_in(url, name))

    probes: list[float] = []
    with cf.ThreadPoolExecutor(len(names)) as pool:
        futures = [pool.submit(loop, n) for n in names]
        began = time.perf_counter()
        with httpx.Client(timeout=60) as http:
            while time.perf_counter() - began < seconds:
                t = time.perf_counter()
                http.get(f"{url}/hub/api/").raise_for_status()
                probes.append((time.perf_counter() - t) * 1000)
                time.sleep(0.05)
        stop.set()
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - began
    return {"sign_ins_per_s": round(len(done) / elapsed, 2),
            "probe_ms_median": round(statistics.median(probes), 1),
            "probe_ms_max": round(max(probes), 1)}


def summary(latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    return {"median_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1)}


def stop_hub(hub: RunningHub) -> None:
    """Stop the hub; ``arenahub run`` does not pass SIGTERM on, so stop JupyterHub too."""
    try:
        pid = int((hub.data_dir / "hub" / "jupyterhub.pid").read_text())
    except (OSError, ValueError):
        pid = 0
    hub.stop()
    if not pid:
        return
    deadline = time.monotonic() + 30
    try:
        os.kill(pid, signal.SIGTERM)
        while time.monotonic() < deadline:  # JupyterHub stops its proxy, then exits
            os.kill(pid, 0)
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def measure(kind: str, args: argparse.Namespace, workdir: Path) -> dict:
    names = [f"bench{i}" for i in range(args.parallel)]
    settings = {"authenticator": kind, "gpus": [], "cull": {"enabled": False},
                "seed_users": {n: PASSWORD for n in names}}
    hub = RunningHub(workdir / kind, settings).start()
    try:
        sign_in(hub.url, names[0])  # warm up
        sequential = summary([sign_in(hub.url, names[0]) for _ in range(args.sequential)])
        return {**sequential, **under_load(hub.url, names, args.seconds)}
    finally:
        stop_hub(hub)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=15)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="accounts-bench-") as tmp:
        results = {kind: measure(kind, args, Path(tmp)) for kind in ("accounts", "dummy")}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
