from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.unit.extensions.servers import HubApiStandIn, InProcessGateway, InProcessJupyterServer


@dataclass
class Stack:
    """The hub stand-in, the gateway and alice's notebook server, with her files under ``home``."""

    hub: HubApiStandIn
    gateway: InProcessGateway
    server: InProcessJupyterServer
    home: Path


@pytest.fixture
async def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    hub = HubApiStandIn().start()
    gateway = await InProcessGateway(hub, tmp_path / "gateway").start()
    home = tmp_path / "home"
    home.mkdir()
    server = InProcessJupyterServer(home, tmp_path / "runtime", gateway.url + "/", hub.token_for("alice")).start()
    yield Stack(hub, gateway, server, home)
    await server.stop()
    await gateway.stop()
    hub.stop()
