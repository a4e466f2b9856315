"""The embedded hub on a real PostgreSQL server (`arenahub run --db-url postgresql+psycopg://...`)."""

import psycopg
import pytest

from tests.support.postgres import PostgresCluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def postgres():
    reason = PostgresCluster.missing_reason()
    if reason:
        pytest.skip(reason)
    with PostgresCluster() as cluster:
        yield cluster


def _plain_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def test_hub_keeps_its_users_and_running_servers_in_postgresql_across_a_crash(make_hub, postgres, tmp_path):
    url = postgres.create_database("hub_crash")
    hub = make_hub({"db_url": url}, data_dir=tmp_path / "hub")
    token = hub.user_token("ada")
    with hub.api() as api:
        assert api.post("/users/ada/server", json={"user_options": {"profile": "cpu"}}).status_code in (201, 202)
    hub.wait_ready("ada")

    with psycopg.connect(_plain_dsn(url)) as conn:
        rows = conn.execute("SELECT u.name, s.port FROM users u JOIN spawners sp ON sp.user_id = u.id "
                            "JOIN servers s ON s.id = sp.server_id").fetchall()
    assert [name for name, _ in rows] == ["ada"], "the hub's state is not in PostgreSQL"
    assert not list((tmp_path / "hub" / "hub").glob("*.sqlite")), "a SQLite file appeared next to PostgreSQL"

    hub.stop(kill=True)
    hub.start()
    model = hub.wait_ready("ada", timeout=60)
    assert model["ready"], "the restarted hub lost ada's running server"
    with hub.api(token) as api:
        assert api.get("/user").json()["name"] == "ada", "ada's token did not survive the restart"


def test_hub_refuses_an_unreachable_postgresql_url_with_a_clear_error(tmp_path):
    from tests.support.hub import RunningHub, free_port

    hub = RunningHub(tmp_path / "bad", {"db_url": f"postgresql+psycopg://arena@127.0.0.1:{free_port()}/nope"})
    with pytest.raises(RuntimeError) as failure:
        hub.start(timeout=60)
    assert "cannot reach the hub database" in str(failure.value)
    assert "Connection refused" in str(failure.value)
