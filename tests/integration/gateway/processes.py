"""Real processes for gateway tests: a JupyterHub, a gateway subprocess (PostgreSQL lives in tests.support.postgres)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from arenahub.gateway import hub_roles
from tests.support.postgres import PostgresCluster
from tests.support.processes import free_port, terminate_group, wait_until_answering

REPO = Path(__file__).resolve().parents[3]
GATEWAY_SERVICE = "arenahub-gateway"

__all__ = ["GatewayProcess", "HubProcess", "PostgresCluster", "free_port", "wait_until"]


def wait_until(check, timeout_s: float, what: str, interval_s: float = 0.1):
    """Poll ``check()`` until it returns a truthy value; raises TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"{what} did not happen within {timeout_s} s")


class HubProcess:
    """A real JupyterHub (DummyAuthenticator) that declares the gateway as a service and its roles.

    ``organiser`` holds the arenahub-admin role; every other user gets the submit scope through
    the ``user`` role. A ``test-admin`` service token creates users and tokens.
    """

    ORGANISER = "organiser"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port, self.hub_port, self.proxy_api_port = free_port(), free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.hub_port}/hub/api"
        self.gateway_token = secrets.token_hex(16)
        self.admin_token = secrets.token_hex(16)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "hub.log"

    def _config(self) -> str:
        roles = hub_roles(service_name=GATEWAY_SERVICE, admin_users=[self.ORGANISER])
        admin_role = {
            "name": "test-admin",
            "scopes": ["admin:users", "tokens", "list:users", "read:users"],
            "services": ["test-admin"],
        }
        proxy = shutil.which("configurable-http-proxy", path=f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}")
        return "\n".join([
            "c.JupyterHub.ip = '127.0.0.1'",
            f"c.JupyterHub.port = {self.port}",
            "c.JupyterHub.hub_ip = '127.0.0.1'",
            f"c.JupyterHub.hub_port = {self.hub_port}",
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{self.proxy_api_port}'",
            f"c.ConfigurableHTTPProxy.command = [{proxy!r}]",
            f"c.ConfigurableHTTPProxy.pid_file = {str(self.root / 'proxy.pid')!r}",
            f"c.JupyterHub.db_url = 'sqlite:///{self.root / 'hub.sqlite'}'",
            f"c.JupyterHub.cookie_secret_file = {str(self.root / 'cookie_secret')!r}",
            "c.JupyterHub.authenticator_class = 'dummy'",
            "c.Authenticator.allow_all = True",
            f"c.JupyterHub.custom_scopes = {roles['custom_scopes']!r}",
            f"c.JupyterHub.load_roles = {[*roles['load_roles'], admin_role]!r}",
            "c.JupyterHub.services = ["
            f"{{'name': {GATEWAY_SERVICE!r}, 'api_token': {self.gateway_token!r}}}, "
            f"{{'name': 'test-admin', 'api_token': {self.admin_token!r}}}]",
        ])

    def start(self, timeout_s: float = 90) -> HubProcess:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "jupyterhub_config.py"
        config.write_text(self._config())
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        wait_until_answering(self.proc, f"{self.api_url}/", timeout_s, self.log_tail, what="JupyterHub")
        return self

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def admin_api(self) -> httpx.Client:
        return httpx.Client(base_url=self.api_url, headers={"Authorization": f"token {self.admin_token}"}, timeout=30)

    def token_for(self, name: str, scopes: list[str] | None = None) -> str:
        """Create user ``name`` if needed and issue a token for them (all their scopes by default)."""
        with self.admin_api() as api:
            reply = api.post("/users", json={"usernames": [name]})
            if reply.status_code not in (201, 409):
                reply.raise_for_status()
            body: dict[str, object] = {"note": "gateway test", "expires_in": 3600}
            if scopes is not None:
                body["scopes"] = scopes
            reply = api.post(f"/users/{name}/tokens", json=body)
            reply.raise_for_status()
            return reply.json()["token"]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        terminate_group(self.proc)


class GatewayProcess:
    """``python -m arenahub.gateway`` as the hub would start it, with extra settings in ``env``."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env = env
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 60) -> GatewayProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "arenahub.gateway"],
                env={**os.environ, **self.env, "JUPYTERHUB_SERVICE_URL": self.url},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )

        def healthy() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"gateway exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, timeout_s, "gateway answering /health")
        return self

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the gateway process alone, like a crash (its runs' supervisors live on)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
