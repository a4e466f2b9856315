"""Hub settings that pick resources: the database URL, the GPUs the gateway places jobs on."""

import pytest

from arenahub.hub_config.settings import HubSettings

pytestmark = pytest.mark.unit


def test_without_a_url_the_hub_uses_sqlite_in_its_data_dir(tmp_path):
    assert HubSettings(data_dir=tmp_path).resolved_db_url() == f"sqlite:///{tmp_path / 'hub' / 'jupyterhub.sqlite'}"


@pytest.mark.parametrize("url", ["postgresql://u:p@127.0.0.1:5432/hub", "postgres://u:p@127.0.0.1:5432/hub"])
def test_plain_postgresql_urls_get_the_psycopg_driver(tmp_path, url):
    assert HubSettings(data_dir=tmp_path, db_url=url).resolved_db_url() == "postgresql+psycopg://u:p@127.0.0.1:5432/hub"


def test_a_url_with_an_explicit_driver_is_kept(tmp_path):
    url = "postgresql+psycopg://u@127.0.0.1/hub"
    assert HubSettings(data_dir=tmp_path, db_url=url).resolved_db_url() == url


def test_the_gateway_gets_the_discovered_gpus_when_no_inventory_is_configured(tmp_path):
    assert HubSettings(data_dir=tmp_path).gateway_gpu_count(discovered=4) == 4
    configured = HubSettings(data_dir=tmp_path, gpus=[{"index": 0}, {"index": 1}])
    assert configured.gateway_gpu_count(discovered=4) == 2
    assert HubSettings(data_dir=tmp_path, gateway={"gpus": 1}).gateway_gpu_count(discovered=4) == 1
