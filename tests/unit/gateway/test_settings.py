"""Tests of arenahub.gateway.settings: nested variables, the hub's variables, placeholder secrets."""

import pytest
from pydantic import ValidationError

from arenahub.gateway.settings import GatewaySettings, get_settings

pytestmark = pytest.mark.unit


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith(("ARENAHUB_GATEWAY_", "JUPYTERHUB_")):
            monkeypatch.delenv(name)
    return monkeypatch


def test_nested_variables_fill_their_groups(clean_env):
    clean_env.setenv("ARENAHUB_GATEWAY_HUB__API_TOKEN", "a-real-token")
    clean_env.setenv("ARENAHUB_GATEWAY_DB__URL", "postgresql+psycopg://arena:s3cret@db/arena")
    clean_env.setenv("ARENAHUB_GATEWAY_CLUSTER__NODES", '{"node-a": 4, "node-b": 8}')
    clean_env.setenv("ARENAHUB_GATEWAY_LIMITS__UPLOAD_MAX_BYTES", "1000")
    settings = get_settings()
    assert settings.database_url == "postgresql+psycopg://arena:s3cret@db/arena"
    assert settings.cluster.nodes == {"node-a": 4, "node-b": 8}
    assert settings.limits.upload_max_bytes == 1000
    assert settings.gpu_cap == 8


def test_the_hub_service_variables_fill_the_hub_group(clean_env):
    clean_env.setenv("JUPYTERHUB_API_TOKEN", "token-from-hub")
    clean_env.setenv("JUPYTERHUB_API_URL", "http://10.0.0.1:8081/hub/api")
    clean_env.setenv("JUPYTERHUB_SERVICE_PREFIX", "/services/gw/")
    clean_env.setenv("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:9999")
    hub = get_settings().hub
    assert (hub.api_token, hub.api_url, hub.service_prefix, hub.service_url) == (
        "token-from-hub", "http://10.0.0.1:8081/hub/api", "/services/gw/", "http://127.0.0.1:9999"
    )


def test_an_explicit_gateway_variable_wins_over_the_hub_variable(clean_env):
    clean_env.setenv("JUPYTERHUB_API_URL", "http://hub/hub/api")
    clean_env.setenv("ARENAHUB_GATEWAY_HUB__API_URL", "http://override/hub/api")
    clean_env.setenv("JUPYTERHUB_API_TOKEN", "token-from-hub")
    assert get_settings().hub.api_url == "http://override/hub/api"


def test_a_placeholder_token_is_refused_outside_dev_naming_the_variable(clean_env):
    with pytest.raises(ValidationError, match="ARENAHUB_GATEWAY_HUB__API_TOKEN"):
        get_settings()


def test_a_placeholder_database_password_is_refused_outside_dev(clean_env):
    clean_env.setenv("JUPYTERHUB_API_TOKEN", "token-from-hub")
    clean_env.setenv("ARENAHUB_GATEWAY_DB__URL", "postgresql+psycopg://arena:change-me@db/arena")
    with pytest.raises(ValidationError, match="ARENAHUB_GATEWAY_DB__URL"):
        get_settings()


def test_dev_allows_placeholders(clean_env):
    clean_env.setenv("ARENAHUB_GATEWAY_ENVIRONMENT", "dev")
    assert get_settings().hub.api_token == "change-me"


def test_the_default_database_is_sqlite_in_the_state_folder(tmp_path):
    settings = GatewaySettings(environment="dev", paths={"state_dir": tmp_path})
    assert settings.database_url == f"sqlite:///{tmp_path}/gateway.sqlite"


def test_settings_are_read_when_asked_not_at_import(clean_env):
    clean_env.setenv("ARENAHUB_GATEWAY_ENVIRONMENT", "dev")
    clean_env.setenv("ARENAHUB_GATEWAY_SCHEDULER__INTERVAL_S", "0.5")
    assert get_settings().scheduler.interval_s == 0.5
    clean_env.setenv("ARENAHUB_GATEWAY_SCHEDULER__INTERVAL_S", "2")
    assert get_settings().scheduler.interval_s == 2
