"""A real embedded arenahub (JupyterHub + configurable-http-proxy) for tests and benchmarks.

Started with ``arenahub run`` exactly as an operator would, plus a drop-in config file that
declares a test service with an admin token, so tests can drive the REST API.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.processes import free_port, terminate_group, wait_until_answering


class RunningHub:
    """One hub process tree on loopback; ``api()`` is an admin client for its REST API."""

    def __init__(self, data_dir: Path, settings: dict[str, Any] | None = None, extra_config: str = ""):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_hex(16)
        self.settings = {"authenticator": "dummy", "data_dir": str(self.data_dir), "port": self.port,
                         "hub_port": free_port(), "proxy_api_port": free_port(),
                         **(settings or {})}
        # every test hub gets its own gateway port, so hubs never meet on the default one
        self.settings["gateway"] = {"port": free_port(), **self.settings.get("gateway", {})}
        self.extra_config = extra_config
        self.proc: subprocess.Popen | None = None
        self.log_path = self.data_dir / "hub-test.log"

    def _write_files(self) -> tuple[Path, Path]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        cfg = self.data_dir / "arenahub.yaml"
        cfg.write_text(yaml.safe_dump(self.settings))
        extra = self.data_dir / "test_extra_config.py"
        extra.write_text(
            "c.JupyterHub.services = list(c.JupyterHub.services) + [{'name': 'test-admin', "
            f"'api_token': {self.admin_token!r}}}]\n"
            "c.JupyterHub.load_roles = list(c.JupyterHub.load_roles) + [{'name': 'test-admin', "
            "'scopes': ['admin:users', 'admin:servers', 'tokens', 'admin-ui', 'list:users', "
            "'read:users', 'admin:server_state', 'access:servers'], 'services': ['test-admin']}]\n"
            "c.JupyterHub.log_level = 'DEBUG'\n" + self.extra_config
        )
        return cfg, extra

    def start(self, timeout: float = 60) -> RunningHub:
        cfg, extra = self._write_files()
        env = {**os.environ, "ARENAHUB_EXTRA_CONFIG": str(extra)}
        with open(self.log_path, "ab") as logf:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "arenahub.cli.main", "run", "--config", str(cfg)],
                env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_answering(self.proc, f"{self.url}/hub/api/", timeout, self.log_tail)
        except BaseException:
            self.stop()  # a failed start leaves no proxy, service or half-started hub behind
            raise
        return self

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, kill: bool = False) -> None:
        """Stop the hub and everything it started: proxy, managed services (culler, gateway), servers.

        With kill=True, SIGKILL the hub, its direct children (proxy, managed services) and its
        proxy, like a crash: notebook servers keep running for a restarted hub to find. Without
        it, safe to call after a failed start or once the hub died: what it left running is found
        (``started_processes``) and killed.
        """
        if not self.proc:
            return
        if kill:
            if self.proc.poll() is None:
                # `arenahub run` is the hub; its direct children are the proxy and services, not servers
                for pid in _children(self.proc.pid):
                    os.kill(pid, signal.SIGKILL)
                self.proc.kill()
                self.proc.wait(10)
            _kill_proxy(self.data_dir / "hub" / "proxy.pid")
            return
        started = self.started_processes()  # its tree, while the hub is still there to hold it together
        terminate_group(self.proc)
        _kill_proxy(self.data_dir / "hub" / "proxy.pid")
        _kill_all(started | self.started_processes())

    def started_processes(self) -> set[int]:
        """Pids of the live processes this hub started: its process tree and session, its proxy
        (by API port), and every service, server or kernel told this hub's API URL (by environment),
        which finds them even after the hub died and they were reparented."""
        if not self.proc:
            return set()
        table = _process_table()
        found = {pid for pid, (_, session, _) in table.items() if session == self.proc.pid}
        api_marker = f":{self.settings['hub_port']}/hub/api".encode()
        proxy_port = str(self.settings["proxy_api_port"]).encode()
        for pid in table:
            argv, environ = _read_proc(pid, "cmdline"), _read_proc(pid, "environ")
            if api_marker in environ or (b"--api-port" in argv.split(b"\0") and proxy_port in argv.split(b"\0")):
                found.add(pid)
        parents = {self.proc.pid, *found}
        while True:  # and every descendant of those
            more = {pid for pid, (parent, _, _) in table.items() if parent in parents} - parents
            if not more:
                break
            parents |= more
        parents.discard(self.proc.pid)
        return {pid for pid in parents if table.get(pid, (0, 0, "Z"))[2] not in ("Z", "X")}

    def api(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/hub/api",
                            headers={"Authorization": f"token {token or self.admin_token}"}, timeout=120)

    def user_token(self, name: str) -> str:
        with self.api() as api:
            r = api.post("/users", json={"usernames": [name]})
            if r.status_code not in (201, 409):
                r.raise_for_status()
            r = api.post(f"/users/{name}/tokens", json={"note": "test", "expires_in": 3600})
            r.raise_for_status()
            return r.json()["token"]

    def wait_ready(self, name: str, timeout: float = 90) -> dict:
        """Wait until the user's default server is ready; returns its server model."""
        deadline = time.monotonic() + timeout
        with self.api() as api:
            while time.monotonic() < deadline:
                model = api.get(f"/users/{name}").json()["servers"].get("")
                if model and model.get("ready"):
                    return model
                if model is None or not model.get("pending"):
                    raise RuntimeError(f"{name}'s server is neither ready nor pending: {model}\n{self.log_tail()}")
                time.sleep(0.1)
        raise TimeoutError(f"{name}'s server was not ready in {timeout}s")

    def wait_stopped(self, name: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self.api() as api:
            while time.monotonic() < deadline:
                if not api.get(f"/users/{name}").json()["servers"]:
                    return
                time.sleep(0.2)
        raise TimeoutError(f"{name}'s server did not stop in {timeout}s")


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _process_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, session id, state) of every process, from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path("/proc", entry, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        table[int(entry)] = (int(fields[1]), int(fields[3]), fields[0])
    return table


def _read_proc(pid: int, name: str) -> bytes:
    try:
        return Path(f"/proc/{pid}/{name}").read_bytes()
    except OSError:
        return b""


def _kill_all(pids: set[int], wait_s: float = 10) -> None:
    """SIGKILL each process, and the process group it leads (a server's kernels); wait until they are gone."""
    for pid in pids:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except OSError:
                pass
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        table = _process_table()
        if all(table.get(pid, (0, 0, "X"))[2] in ("Z", "X") for pid in pids):
            return
        time.sleep(0.05)


def _kill_proxy(pid_file: Path) -> None:
    try:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def browser_session(hub: RunningHub, name: str, password: str = "any-password") -> httpx.Client:
    """An httpx client signed in through the hub's login form (cookies, like a browser)."""
    web = httpx.Client(base_url=hub.url, timeout=120, follow_redirects=False)
    web.get("/hub/login")
    r = web.post("/hub/login", data={"username": name, "password": password,
                                     "_xsrf": web.cookies.get("_xsrf", path="/hub/")})
    if r.status_code != 302:
        raise RuntimeError(f"login of {name} failed: {r.status_code} {r.text[:200]}")
    return web
