"""Fixtures for observability tests: the gateway suite's hub, with the metrics roles and a ``prometheus`` service."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from arenahub.core.metrics_roles import observability_roles
from tests.integration.gateway.conftest import database_url, gateway, postgres  # noqa: F401 - fixtures reused
from tests.integration.gateway.processes import GATEWAY_SERVICE, HubProcess


class MetricsHub(HubProcess):
    """The gateway tests' hub plus arenahub's metrics roles and a ``prometheus`` service that scrapes with them."""

    def __init__(self, root) -> None:
        super().__init__(root)
        self.prometheus_token = secrets.token_hex(16)

    def _config(self) -> str:
        extra = observability_roles(service_name=GATEWAY_SERVICE, metrics_services=["prometheus"])
        return "\n".join([
            super()._config(),
            f"c.JupyterHub.custom_scopes.update({extra['custom_scopes']!r})",
            f"c.JupyterHub.load_roles = list(c.JupyterHub.load_roles) + {extra['load_roles']!r}",
            "c.JupyterHub.services = list(c.JupyterHub.services) + "
            f"[{{'name': 'prometheus', 'api_token': {self.prometheus_token!r}}}]",
        ])


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetricsHub]:
    """A real JupyterHub that knows the gateway, its scopes and a prometheus service token."""
    process = MetricsHub(tmp_path_factory.mktemp("metrics-hub")).start()
    yield process
    process.stop()


@pytest.fixture
def make_hub(tmp_path):
    """Start embedded arenahub hubs (``arenahub run``) for one test; stops their servers and them after it."""
    from tests.integration.hub.conftest import _stop_all_servers
    from tests.support.hub import RunningHub

    hubs: list[RunningHub] = []

    def start(settings, extra_config=""):
        hub = RunningHub(tmp_path / f"hub{len(hubs)}", settings, extra_config=extra_config)
        hubs.append(hub)
        return hub.start()

    yield start
    for hub in hubs:
        _stop_all_servers(hub)
        hub.stop()
