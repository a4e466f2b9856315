"""Fixtures for gateway tests: a real JupyterHub, SQLite and a real PostgreSQL, gateways served by uvicorn.

The database suite runs once per backend in ``ARENAHUB_TEST_DATABASES`` (comma-separated,
default ``sqlite,postgresql``); PostgreSQL is skipped with the reason when it cannot start here.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, delete, func, select

from arenahub.gateway.app import create_app
from arenahub.gateway.executors.base import Executor
from arenahub.gateway.models import Base, Job
from arenahub.gateway.settings import GatewaySettings
from tests.integration.gateway.fake_executor import FakeExecutor
from tests.integration.gateway.processes import HubProcess, free_port
from tests.support.postgres import PostgresCluster
from tests.support.processes import InLoopServer

DATABASES = [name.strip() for name in os.environ.get("ARENAHUB_TEST_DATABASES", "sqlite,postgresql").split(",") if name.strip()]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster (Debian's server binaries) for the whole session."""
    reason = PostgresCluster.missing_reason()
    if reason:
        pytest.skip(reason)
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """URL of an empty gateway database, once per backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'gateway.sqlite'}"
    if request.param == "postgresql":
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.create_database(f"gateway_{os.getpid()}")
    raise ValueError(f"Unknown test database {request.param!r}; use sqlite or postgresql.")


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """A real JupyterHub that knows the gateway as a service and declares its scopes and roles."""
    process = HubProcess(tmp_path_factory.mktemp("hub")).start()
    yield process
    process.stop()


def wipe_database(url: str) -> None:
    """Delete every gateway row (tables stay; migrations ran once)."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                if engine.dialect.has_table(conn, table.name):
                    conn.execute(delete(table))
    finally:
        engine.dispose()


@dataclass
class ServedGateway:
    """A gateway app served by uvicorn on loopback inside the test's event loop."""

    settings: GatewaySettings
    executor: Executor
    url: str = ""
    runner: InLoopServer = field(default_factory=InLoopServer)

    async def start(self) -> ServedGateway:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        await self.runner.serve(create_app(self.settings, executor=self.executor), port, graceful_s=2)
        return self

    async def stop(self) -> None:
        await self.runner.shutdown()


@dataclass
class GatewayHarness:
    """Starts gateways on one database and state folder; submits jobs; counts what is stored."""

    hub: HubProcess
    database_url: str
    state_dir: Path
    executor: FakeExecutor = field(default_factory=FakeExecutor)
    settings_overrides: dict[str, Any] = field(default_factory=dict)
    served: list[ServedGateway] = field(default_factory=list)

    def settings(self) -> GatewaySettings:
        fields: dict[str, Any] = {
            "db": {"url": self.database_url},
            "hub": {"api_url": self.hub.api_url, "api_token": self.hub.gateway_token},
            "paths": {"state_dir": self.state_dir},
            "cluster": {"nodes": {"local": 2}},
            "scheduler": {"interval_s": 0.2},
            "limits": {"upload_max_bytes": 256 * 1024},
        }
        for group, values in self.settings_overrides.items():
            fields[group] = {**fields.get(group, {}), **values}
        return GatewaySettings(**fields)

    async def start(self, executor: Executor | None = None) -> ServedGateway:
        served = await ServedGateway(self.settings(), executor or self.executor).start()
        self.served.append(served)
        return served

    @property
    def url(self) -> str:
        return self.served[-1].url

    def client(self, token: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"token {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    def stored_jobs(self) -> int:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(Job)).scalar_one()
        finally:
            engine.dispose()

    def snapshot_folders(self) -> list[str]:
        jobs = self.state_dir / "jobs"
        return sorted(p.name for p in jobs.iterdir()) if jobs.exists() else []


@pytest.fixture
async def gateway(hub: HubProcess, database_url: str, tmp_path: Path) -> AsyncIterator[GatewayHarness]:
    """A running gateway with a FakeExecutor on a wiped database (SQLite and PostgreSQL)."""
    wipe_database(database_url)
    harness = GatewayHarness(hub=hub, database_url=database_url, state_dir=tmp_path / "state")
    await harness.start()
    yield harness
    for served in reversed(harness.served):
        await served.stop()
    wipe_database(database_url)
