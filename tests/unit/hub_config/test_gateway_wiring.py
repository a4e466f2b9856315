"""Tests of the gateway's wiring into the embedded hub: the managed service, its roles and the notebooks' URL."""

import json
import sys

import pytest
from traitlets.config import Config

from arenahub.gateway import READ_ALL_SCOPE, SUBMIT_SCOPE
from arenahub.hub_config.settings import HubSettings
from arenahub.hub_config.wiring import configure

pytestmark = pytest.mark.unit


def configured(tmp_path, **settings):
    c = Config()
    configure(c, HubSettings(data_dir=tmp_path, gpus=[], **settings))
    return c


def gateway_of(c):
    return next(s for s in c.JupyterHub.services if s["name"] == "arenahub-gateway")


def test_the_hub_starts_the_gateway_with_this_python_on_its_loopback_port(tmp_path):
    c = configured(tmp_path, gateway={"port": 12345})
    service = gateway_of(c)
    assert service["url"] == "http://127.0.0.1:12345"
    assert service["command"][1:] == ["-m", "arenahub.gateway"]
    assert service["command"][0] == sys.executable
    assert len(service["api_token"]) == 64


def test_the_gateway_keeps_its_state_in_a_private_folder_of_the_data_dir(tmp_path):
    env = gateway_of(configured(tmp_path))["environment"]
    state = tmp_path / "gateway"
    assert env["ARENAHUB_GATEWAY_PATHS__STATE_DIR"] == str(state)
    assert "ARENAHUB_GATEWAY_DB__URL" not in env  # the gateway's default: SQLite in its state folder
    assert state.stat().st_mode & 0o777 == 0o700
    assert env["ARENAHUB_GATEWAY_HUB__STOP_WITH_HUB"] == "true"


def test_the_gateway_token_stays_the_same_across_hub_restarts(tmp_path):
    assert gateway_of(configured(tmp_path))["api_token"] == gateway_of(configured(tmp_path))["api_token"]


@pytest.mark.parametrize("settings, gpus", [
    ({}, 0),
    ({"gpus": [{"index": 0}, {"index": 1}]}, 2),
    ({"gpus": [{"index": 0}], "gateway": {"gpus": 8}}, 8),
])
def test_the_gateway_places_jobs_on_the_configured_whole_gpus(tmp_path, settings, gpus):
    c = Config()
    configure(c, HubSettings(data_dir=tmp_path, **{"gpus": None, **settings}))
    assert json.loads(gateway_of(c)["environment"]["ARENAHUB_GATEWAY_CLUSTER__NODES"]) == {"local": gpus}


def test_a_database_url_and_extra_gateway_variables_reach_the_gateway(tmp_path):
    env = gateway_of(configured(tmp_path, gateway={
        "db_url": "postgresql+psycopg://gw:pw@db/gw",
        "environment": {"ARENAHUB_GATEWAY_LOGS__POLICY": "filtered"},
    }))["environment"]
    assert env["ARENAHUB_GATEWAY_DB__URL"] == "postgresql+psycopg://gw:pw@db/gw"
    assert env["ARENAHUB_GATEWAY_LOGS__POLICY"] == "filtered"


def test_only_gateway_variables_may_be_passed_to_the_gateway(tmp_path):
    with pytest.raises(ValueError, match="only ARENAHUB_GATEWAY_\\* variables.*JUPYTERHUB_API_TOKEN"):
        HubSettings(data_dir=tmp_path, gateway={"environment": {"JUPYTERHUB_API_TOKEN": "x"}})


def test_notebook_servers_are_told_the_gateways_url(tmp_path):
    c = configured(tmp_path, gateway={"port": 12345})
    assert c.Spawner.environment["ARENAHUB_GATEWAY_URL"] == "http://127.0.0.1:12345/"
    assert c.Spawner.environment["ARENAHUB_DATA_DIR"] == str(tmp_path)


def test_users_and_their_servers_get_the_submit_scope_and_admins_read_all(tmp_path):
    c = configured(tmp_path, admin_users=["root-org"])
    roles = {role["name"]: role for role in c.JupyterHub.load_roles}
    assert {SUBMIT_SCOPE, READ_ALL_SCOPE} <= set(c.JupyterHub.custom_scopes)  # + the metrics scope
    assert SUBMIT_SCOPE in roles["user"]["scopes"] and SUBMIT_SCOPE in roles["server"]["scopes"]
    assert READ_ALL_SCOPE in roles["arenahub-admin"]["scopes"]
    assert roles["arenahub-admin"]["users"] == ["root-org"]
    assert "idle-culler" in roles  # the other services' roles stay


def test_a_disabled_gateway_is_neither_started_nor_announced(tmp_path):
    c = configured(tmp_path, gateway={"enabled": False})
    assert all(s["name"] != "arenahub-gateway" for s in c.JupyterHub.services)
    assert "ARENAHUB_GATEWAY_URL" not in c.Spawner.environment
    assert all(role["name"] != "arenahub-admin" for role in c.JupyterHub.load_roles)
