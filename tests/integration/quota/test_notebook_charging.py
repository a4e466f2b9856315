"""GPU notebooks are charged to the real ledger from their start to the hub's stop, exactly once across a gateway restart.

A real JupyterHub spawns a real single-user server (SimpleLocalProcessSpawner); the gateway's
QuotaKeeper charges it against a real database. A "restart" is a fresh QuotaKeeper on the same
database: everything it knows comes from there.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from arenahub.gateway.db import Database, run_migrations
from arenahub.gateway.quota_settings import NotifySettings, QuotaSettings
from arenahub.gateway.quotakeeper import QuotaKeeper
from arenahub.gateway.quotamodels import ChargeCursor, LedgerRow
from tests.integration.gateway.conftest import wipe_database
from tests.integration.gateway.fake_executor import FakeExecutor
from tests.integration.gateway.processes import REPO, HubProcess, wait_until
from tests.integration.gateway.api_helpers import unique_user

pytestmark = pytest.mark.integration

PROFILES = {"gpu-quarter": 0.25}


class SpawningHub(HubProcess):
    """The gateway tests' hub, plus real single-user servers and a service token that may start and stop them."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.spawner_token = secrets.token_hex(16)

    def _config(self) -> str:
        singleuser = str(REPO / ".venv" / "bin" / "jupyterhub-singleuser")
        return "\n".join([
            super()._config(),
            "c.JupyterHub.spawner_class = 'simple'",
            f"c.Spawner.cmd = [{singleuser!r}]",
            "c.Spawner.args = ['--allow-root']",
            "c.Spawner.start_timeout = 120",
            "c.Spawner.http_timeout = 120",
            f"c.JupyterHub.services.append({{'name': 'test-spawner', 'api_token': {self.spawner_token!r}}})",
            "c.JupyterHub.load_roles.append({'name': 'test-spawner', 'services': ['test-spawner'], "
            "'scopes': ['servers', 'read:servers', 'admin:users']})",
        ])

    def spawner_api(self):
        client = self.admin_api()
        client.headers["Authorization"] = f"token {self.spawner_token}"
        return client


@pytest.fixture(scope="module")
def spawning_hub(tmp_path_factory):
    hub = SpawningHub(tmp_path_factory.mktemp("spawning-hub")).start()
    yield hub
    hub.stop()


def server_model(hub: SpawningHub, name: str) -> dict:
    with hub.spawner_api() as api:
        return api.get(f"/users/{name}", params={"include_stopped_servers": "1"}).json()["servers"][""]


def start_server(hub: SpawningHub, name: str) -> dict:
    with hub.spawner_api() as api:
        api.post("/users", json={"usernames": [name]})
        reply = api.post(f"/users/{name}/server", json={"profile": "gpu-quarter"})
        assert reply.status_code in (201, 202), reply.text
    return wait_until(lambda: (m := server_model(hub, name)).get("ready") and m, 120, f"{name}'s server ready", 0.5)


def stop_server(hub: SpawningHub, name: str) -> dict:
    with hub.spawner_api() as api:
        assert api.delete(f"/users/{name}/server").status_code in (202, 204)
    return wait_until(lambda: (m := server_model(hub, name)).get("stopped") and not m.get("pending") and m,
                      60, f"{name}'s server stopped", 0.2)


def make_keeper(hub: SpawningHub, db: Database) -> QuotaKeeper:
    settings = QuotaSettings(notebook_profiles=PROFILES, charge_interval_s=60)
    return QuotaKeeper(settings, NotifySettings(), db, FakeExecutor(), time.time,
                       hub_api_url=hub.api_url, hub_api_token=hub.gateway_token)


def ledger_rows(db_url: str, source_id: str) -> list[LedgerRow]:
    db = Database.from_url(db_url)
    try:
        with db.engine.connect() as conn:
            return list(conn.execute(select(LedgerRow).where(LedgerRow.source_id == source_id)
                                     .order_by(LedgerRow.start_at)).all())
    finally:
        db.engine.dispose()


def iso_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_a_gpu_notebook_is_charged_to_its_stop_exactly_once_across_a_gateway_restart(spawning_hub, database_url):
    hub = spawning_hub
    wipe_database(database_url)
    db = Database.from_url(database_url)
    await asyncio.to_thread(run_migrations, db.engine)
    name = unique_user("nb")
    try:
        running = await asyncio.to_thread(start_server, hub, name)
        source_id = f"{name}/@{running['started']}"
        first = make_keeper(hub, db)
        await first.run_once()
        await asyncio.sleep(1.0)
        await first.run_once()  # charged up to here; the gateway then goes away
        charged_while_running = sum(r.gpu_seconds for r in ledger_rows(database_url, source_id))

        await asyncio.sleep(1.5)  # the tail: still running, charged by nobody yet
        stopped = await asyncio.to_thread(stop_server, hub, name)
        restarted = make_keeper(hub, db)  # a fresh gateway: only the database remembers
        await restarted.run_once()
        await restarted.run_once()
        await make_keeper(hub, db).run_once()  # and once more after another restart

        rows = ledger_rows(database_url, source_id)
        cursor = await db.read(lambda s: s.get(ChargeCursor, ("notebook", source_id)))
    finally:
        await db.close()
    stop_at, start_at = iso_ts(stopped["last_activity"]), iso_ts(running["started"])
    assert cursor is not None and cursor.settled and cursor.charged_until == pytest.approx(stop_at, abs=1e-6)
    assert rows[0].start_at == pytest.approx(start_at, abs=1e-6) and rows[-1].end_at == pytest.approx(stop_at, abs=1e-6)
    assert all(a.end_at == b.start_at for a, b in zip(rows, rows[1:]))  # no gap, no overlap
    assert {r.gpu_fraction for r in rows} == {0.25}
    total = sum(r.gpu_seconds for r in rows)
    assert total == pytest.approx(0.25 * (stop_at - start_at), abs=1e-6)
    assert total - charged_while_running >= 0.25 * 1.5  # the tail was charged
