"""What kwok does not do for notebook pods: answer HTTP at the pod's 127.x IP, and give PVCs storage.

`PodServers` watches a namespace's notebook pods and, for each one that turns Running, binds a
server to its pod IP: a real jupyter-server (started with the pod's own environment, as the
image's entrypoint would) for the users named in `real_users`, otherwise `PodAnswerer`, a tiny
HTTP responder that stands in for jupyter-server where a test or benchmark only needs the hub's
readiness check to pass. Everything binds to loopback addresses only.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from kubernetes import client as k8s

NOTEBOOK_SELECTOR = "component=singleuser-server"


class PodAnswerer(asyncio.Protocol):
    """Answers every HTTP request with 200 and a short JSON body, then closes."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if b"\r\n\r\n" in data:
            body = b'{"stand_in": "jupyter-server"}'
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "  # type: ignore[attr-defined]
                                 + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
            self.transport.close()


def ensure_home_volume(core: k8s.CoreV1Api, namespace: str, pvc_name: str, size: str = "10Gi") -> str:
    """A PersistentVolume pre-bound to ``namespace/pvc_name`` (the harness has no provisioner);
    returns its name. Safe to repeat."""
    name = f"pv-{namespace}-{pvc_name}"[:63].rstrip("-")
    body = {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {"arenahub.io/test-namespace": namespace}},
        "spec": {
            "capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"],
            "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "",
            "hostPath": {"path": f"/srv/harness-homes/{namespace}/{pvc_name}"},
            "claimRef": {"namespace": namespace, "name": pvc_name},
        },
    }
    try:
        core.create_persistent_volume(body)
    except k8s.ApiException as e:
        if e.status != 409:
            raise
    return name


class PodServers:
    """Background thread serving HTTP at the IP of every Running notebook pod of a namespace."""

    def __init__(self, api_client: k8s.ApiClient, namespace: str, *, port: int = 8888,
                 real_users: set[str] | None = None, poll_s: float = 0.2):
        self.core = k8s.CoreV1Api(api_client)
        self.namespace, self.port, self.poll_s = namespace, port, poll_s
        self.real_users = real_users if real_users is not None else set()
        self.answered: dict[str, str] = {}  # pod name -> pod IP it is served at
        self.processes: dict[str, subprocess.Popen] = {}
        self.workdir = Path(tempfile.mkdtemp(prefix="arenahub-podservers-"))
        self._servers: dict[str, asyncio.AbstractServer] = {}
        self._stop = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="pod-servers", daemon=True)

    def start(self) -> "PodServers":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for name in list(self.processes):
            self._end_process(name)

    def __enter__(self) -> "PodServers":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._watch())
        self._loop.close()

    async def _watch(self) -> None:
        while not self._stop.is_set():
            try:
                pods = await asyncio.to_thread(
                    self.core.list_namespaced_pod, self.namespace, label_selector=NOTEBOOK_SELECTOR)
            except Exception:  # the API server may be stopping at the end of the session
                await asyncio.sleep(self.poll_s)
                continue
            live = {}
            for pod in pods.items:
                ip = pod.status.pod_ip if pod.status else None
                if pod.status.phase == "Running" and ip and not pod.metadata.deletion_timestamp:
                    live[pod.metadata.name] = (ip, pod)
            for name in [n for n in self.answered if n not in live]:
                await self._forget(name)
            for name, (ip, pod) in live.items():
                if name not in self.answered:
                    await self._serve(name, ip, pod)
            await asyncio.sleep(self.poll_s)
        for name in list(self.answered):
            await self._forget(name)

    async def _serve(self, name: str, ip: str, pod: Any) -> None:
        user = (pod.metadata.annotations or {}).get("hub.jupyter.org/username", "")
        if user in self.real_users:
            self.processes[name] = self._start_jupyter(ip, pod, user)
        else:
            self._servers[name] = await self._loop.create_server(PodAnswerer, ip, self.port)
        self.answered[name] = ip

    async def _forget(self, name: str) -> None:
        self.answered.pop(name, None)
        server = self._servers.pop(name, None)
        if server is not None:
            server.close()
            await server.wait_closed()
        if name in self.processes:
            await asyncio.to_thread(self._end_process, name)

    def _start_jupyter(self, ip: str, pod: Any, user: str) -> subprocess.Popen:
        """A real jupyter-server with the pod's environment, bound to the pod IP (as its image would
        run; --allow-root because the test may run as root where the image runs as uid 1000)."""
        container = next(c for c in pod.spec.containers if c.name == "notebook")
        env = {e.name: e.value for e in container.env or [] if e.value is not None}
        prefix = env.get("JUPYTERHUB_SERVICE_PREFIX", f"/user/{user}/")
        env["JUPYTERHUB_SERVICE_URL"] = f"http://{ip}:{self.port}{prefix}"
        home = self.workdir / user
        home.mkdir(exist_ok=True)
        env.update({"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
                    "JUPYTER_RUNTIME_DIR": str(home / ".runtime"), "PYTHONUNBUFFERED": "1"})
        log = open(self.workdir / f"{name_of(pod)}.log", "ab")
        try:
            return subprocess.Popen([sys.executable, "-m", "arenahub.spawner.singleuser", "--allow-root"], env=env, cwd=home,
                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def _end_process(self, name: str) -> None:
        proc = self.processes.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def log_of(self, pod_name: str) -> str:
        path = self.workdir / f"{pod_name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


def name_of(pod: Any) -> str:
    return str(pod.metadata.name)


def wait_for(what: str, probe, timeout_s: float = 60, interval_s: float = 0.2):
    """Call ``probe`` until it returns something truthy; returns that, raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(interval_s)
