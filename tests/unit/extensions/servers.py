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
from fastapi import FastAPI
from tornado.httpserver import HTTPServer
from tornado.web import Application, RequestHandler

from arenahub.gateway.app import create_app
from arenahub.core.gateway_roles import READ_ALL_SCOPE, SUBMIT_SCOPE
from arenahub.gateway.settings import GatewaySettings
from tests.integration.gateway.fake_executor import FakeExecutor
from tests.support.processes import InLoopServer, free_port


class _UserHandler(RequestHandler):
    def initialize(self, tokens: dict[str, str], admins: set[str]) -> None:
        self.tokens, self.admins = tokens, admins

    def get(self) -> None:
        token = self.request.headers.get("Authorization", "").partition(" ")[2]
        name = self.tokens.get(token)
        if name is None:
            self.set_status(403)
            self.finish({"status": 403, "message": "invalid token"})
            return
        scopes = [f"{SUBMIT_SCOPE}!user={name}", *([READ_ALL_SCOPE] if name in self.admins else [])]
        self.finish({"kind": "user", "name": name, "scopes": scopes})


@dataclass
class HubApiStandIn:
    """Answers the one hub call the gateway makes (GET /hub/api/user) for tokens it issued; ``admins`` organise."""

    tokens: dict[str, str] = field(default_factory=dict)
    admins: set[str] = field(default_factory=lambda: {"organiser"})
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
        app = Application([(r"/hub/api/user", _UserHandler, {"tokens": self.tokens, "admins": self.admins})])
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
    app: FastAPI | None = None

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
        self.app = create_app(settings, executor=self.executor)
        await self.runner.serve(self.app, port, graceful_s=1)
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


GIB = 2**30


@dataclass
class RecordedSampler:
    """Stands in for the gateway's GPU sampler with one recorded sample (the routes read only ``latest``)."""

    latest: object

    async def stop(self) -> None:
        return None


def recorded_slice_sample(user: str) -> object:
    """A sample as the sampler records it on an 80 GiB GPU: ``user``'s 0.25 slice (8 GiB cap) keeps
    7.75 % of the GPU busy (31 % of the slice) and holds 5.2 GiB; bob's slice next to it is idle."""
    from arenahub.gateway.gpumon import GpuReading, NvmlSnapshot, Owner, OwnerUsage, ProcessReading
    from arenahub.gateway.gpumon_service import GpuSample

    gpu = GpuReading(index=0, uuid="GPU-0", name="NVIDIA H100 80GB HBM3", util_pct=7.75, mem_used_bytes=int(5.2 * GIB),
                     mem_total_bytes=80 * GIB)
    mine = Owner("notebook", f"{user}/", user, root_pid=4242, gpu_fraction=0.25, gpu_indices=(0,),
                 mem_limit_bytes=8 * GIB, profile="gpu-quarter")
    bobs = Owner("notebook", "bob/", "bob", root_pid=4343, gpu_fraction=0.25, gpu_indices=(0,),
                 mem_limit_bytes=8 * GIB, profile="gpu-quarter")
    snapshot = NvmlSnapshot(taken_at=1_800_000_000.0, gpus=(gpu,),
                            processes=(ProcessReading(0, 4250, int(5.2 * GIB), 7.75),))
    return GpuSample(snapshot, owners=(mine, bobs),
                     usages=(OwnerUsage(mine, 0, 0.0775, int(5.2 * GIB), (4250,)),))


async def use_recorded_sampler(gateway: InProcessGateway, sample: object) -> None:
    """Stop the gateway's own sampler and answer /gpus with ``sample`` from now on."""
    assert gateway.app is not None
    obs = gateway.app.state.observability
    if obs.sampler is not None:
        await obs.sampler.stop()
    obs.sampler = RecordedSampler(sample)


async def register_dataset(hub: HubApiStandIn, gateway: InProcessGateway, data_dir: Path, name: str = "pts") -> None:
    """Make an empty dataset folder under ``data_dir`` and register it as the organiser (Test needs a dataset)."""
    for part in ("train", "test/inputs", "test/annotations"):
        (data_dir / name / part).mkdir(parents=True)
    headers = {"Authorization": f"Bearer {hub.token_for('organiser')}"}
    async with httpx.AsyncClient(base_url=gateway.url, headers=headers) as http:
        reply = await http.post("/datasets", json={"name": name, "path": str(data_dir / name)})
    if reply.status_code != 201:
        raise AssertionError(f"registering dataset {name} failed: {reply.status_code} {reply.text}")
