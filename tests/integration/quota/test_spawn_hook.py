"""The hub's pre-spawn quota check against a real gateway: GPU notebooks over budget are refused with its message."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from tornado import web

from arenahub.core.profiles import Profile
from arenahub.hub_config.quota_hook import SpawnQuotaCheck
from tests.integration.gateway.api_helpers import unique_user
from tests.integration.quota.test_quota_api import charge_directly, restart_with

pytestmark = pytest.mark.integration


@dataclass
class HubUser:
    name: str


@dataclass
class SpawnerAboutToStart:
    """What the hook reads from a JupyterHub spawner: its user, its fresh API token and its chosen profile."""

    user: HubUser
    api_token: str
    profile: Profile

    def chosen_profile(self) -> Profile:
        return self.profile


QUARTER = Profile(slug="gpu-quarter", display_name="Quarter GPU", gpu_fraction=0.25)
CPU = Profile(slug="cpu", display_name="CPU only", gpu_fraction=0.0)


async def test_a_gpu_notebook_over_budget_is_refused_with_the_gateway_s_message(gateway):
    await restart_with(gateway, quota={"limits": {"gpu_hours": 0.01}})
    name = unique_user("ada")
    charge_directly(gateway.database_url, name, 36.0)
    token = gateway.hub.token_for(name)
    check = SpawnQuotaCheck(gateway.url)
    with pytest.raises(web.HTTPError) as refused:
        await check(SpawnerAboutToStart(HubUser(name), token, QUARTER))
    assert refused.value.status_code == 429
    assert "start a GPU notebook" in refused.value.log_message and "resets Monday" in refused.value.log_message
    await check(SpawnerAboutToStart(HubUser(name), token, CPU))  # CPU notebooks still start


async def test_a_user_with_budget_left_spawns_and_an_unreachable_gateway_refuses_with_503(gateway):
    name = unique_user("bob")
    token = gateway.hub.token_for(name)
    await SpawnQuotaCheck(gateway.url)(SpawnerAboutToStart(HubUser(name), token, QUARTER))
    with pytest.raises(web.HTTPError) as unreachable:
        await SpawnQuotaCheck("http://127.0.0.1:9", timeout_s=1)(SpawnerAboutToStart(HubUser(name), token, QUARTER))
    assert unreachable.value.status_code == 503 and "CPU-only" in unreachable.value.log_message
