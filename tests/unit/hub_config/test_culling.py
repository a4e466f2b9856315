from datetime import timedelta

import pytest

from arenahub.hub_config.culling import make_profile_arbiter

pytestmark = pytest.mark.unit
arbiter = make_profile_arbiter({"gpu-quarter": 600, "gpu-whole": 300}, default_slug="gpu-quarter")


@pytest.mark.parametrize("server, idle_s, culled", [
    ({"state": {"profile": "gpu-whole"}}, 299, False),
    ({"state": {"profile": "gpu-whole"}}, 300, True),
    ({"user_options": {"profile": "gpu-quarter"}}, 601, True),
    ({"state": {"profile": "cpu"}}, 3000, False),   # falls back to the hub-wide limit
    ({"state": {"profile": "cpu"}}, 3600, True),
    ({}, 601, True),                                # no record: the default profile's limit
])
def test_each_profile_has_its_own_idle_limit(server, idle_s, culled):
    assert arbiter(inactive=timedelta(seconds=idle_s), inactive_limit=3600, server=server) is culled


def test_servers_without_activity_are_not_culled():
    assert arbiter(inactive=None, inactive_limit=1, server={}) is False
