"""In-process servers for the extension's handler tests: a hub API stand-in, a real gateway, a real jupyter-server.

All three share the test's event loop and listen on loopback only. The gateway is the real
app (real database, routes, auth and scheduler) with the gateway tests' FakeExecutor, so jobs
finish on cue without a sandbox.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from arenahub.gateway.app import create_app
from arenahub.core.gateway_roles import SUBMIT_SCOPE
from arenahub.gateway.settings import GatewaySettings
from tests.integration.gateway.fake_executor import FakeExecutor
from tests.support.processes import InLoopServer, free_port


class _UserHandler(RequestHandler):
    def initialize(self, tokens: dict[str, str]) -> None:
        self.tokens = tokens

    def get(self) -> None:
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        name = self.tokens.get(token)
        if name is None:
            self.set_status(403)
            self.finish({"status": 403, "message": "invalid token"})
            return
        self.finish({"kind": "user", "name": name, "scopes": [f"{SUBMIT_SCOPE}!user={name}"]})


@dataclass
class HubApiStandIn:
    """Answers the one hub call the gateway makes (GET /hub/api/user) for tokens it issued."""

    tokens: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    server: HTTPServer | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hub/api"

    def token_for(self, name: str) -> str:
        token = secrets.token_hex(16)
        self.tokens[token] = name
        return token

    def start(self) -> HubApiStandIn:
        app = Application([(r"/hub/api/user", _UserHandler, {"tokens": self.tokens})])
        self.server = HTTPServer(app)
        self.server.listen(self.port, "127.0.0.1")
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


@dataclass
class InProcessGateway:
    """The real gateway app, served by uvicorn in this event loop, with a FakeExecutor."""

    hub: HubApiStandIn
    state_dir: Path
    executor: FakeExecutor = field(default_factory=FakeExecutor)
    port: int = field(default_factory=free_port)  # kept across stop() and start(), as a restart would
    url: str = ""
    runner: InLoopServer = field(default_factory=InLoopServer)

    async def start(self) -> InProcessGateway:
        port = self.port
        self.url = f"http://127.0.0.1:{port}"
        settings = GatewaySettings(
            environment="dev",
            hub={"api_url": self.hub.api_url, "api_token": "gateway-test-token", "auth_cache_s": 0},
            paths={"state_dir": self.state_dir},
            cluster={"nodes": {"local": 1}},
            scheduler={"interval_s": 0.1},
        )
        await self.runner.serve(create_app(settings, executor=self.executor), port, graceful_s=1)
        return self

    async def stop(self) -> None:
        await self.runner.shutdown()


@dataclass
class InProcessJupyterServer:
    """A jupyter-server with the arenahub extension enabled, configured to use ``gateway_url``."""

    root_dir: Path
    runtime_dir: Path
    gateway_url: str
    gateway_token: str
    extra_config: dict[str, object] = field(default_factory=dict)
    token: str = field(default_factory=lambda: secrets.token_hex(8))
    port: int = field(default_factory=free_port)
    app: object | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> InProcessJupyterServer:
        from jupyter_server.serverapp import ServerApp
        from traitlets.config import Config

        config = Config({
            "ServerApp": {"jpserver_extensions": {"arenahub.extensions": True, "jupyter_lsp": False}},
            "IdentityProvider": {"token": self.token},
            "ArenaExtension": {"gateway_url": self.gateway_url, "gateway_token": self.gateway_token,
                               "tensorboard_dir": str(self.runtime_dir / "tb"), **self.extra_config},
        })
        ServerApp.clear_instance()
        app = ServerApp.instance(config=config, port=self.port, port_retries=0, ip="127.0.0.1", open_browser=False,
                                 root_dir=str(self.root_dir), allow_root=True, runtime_dir=str(self.runtime_dir),
                                 log_level="WARN")
        app.init_signal = lambda: None
        app.initialize(argv=[], find_extensions=False, new_httpserver=True)
        app.start_app()
        self.app = app
        return self

    async def stop(self) -> None:
        from jupyter_server.serverapp import ServerApp

        if self.app is not None:
            await self.app._cleanup()  # type: ignore[attr-defined]
        ServerApp.clear_instance()

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url + "arenahub/", timeout=30,
                                 headers={"Authorization": f"token {self.token}"})


def parse_sse(body: str) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a complete SSE body."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.lstrip(" ")
        if "data" in fields:
            events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events
