"""The idle culler's decisions: per-profile timeouts, and unattended GPU servers culled after five minutes."""

import asyncio
import json
from datetime import timedelta

import pytest
from traitlets.config import Config

from arenahub.core.profiles import Profile, ProfileError, validate_profiles
from arenahub.hub_config.culling import TIMEOUTS_ENV, is_unattended, make_profile_arbiter, make_unattended_arbiter
from arenahub.hub_config.settings import HubSettings
from arenahub.hub_config.wiring import configure

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


# ---------------------------------------------------------------- unattended servers

ATTACHED = {"connections": 1, "execution_state": "idle"}
DETACHED = {"connections": 0, "execution_state": "idle"}
RUNNING = {"connections": 0, "execution_state": "busy"}


@pytest.mark.parametrize("kernels, unattended", [
    ([], True),                      # no kernel and (at this idle time) no open tab polling the API
    ([DETACHED], True),
    ([DETACHED, ATTACHED], False),   # a hidden tab keeps its kernel's websocket open
    ([RUNNING], False),              # a long cell with the laptop closed is not cut short
    ([{"connections": 0, "execution_state": "starting"}], True),
])
def test_a_server_is_unattended_when_no_browser_is_connected_to_any_kernel_and_none_runs_code(kernels, unattended):
    assert is_unattended(kernels) is unattended


class KernelLists:
    """The kernels each server reports, by server URL; records which servers were asked."""

    def __init__(self, by_url):
        self.by_url, self.asked = by_url, []

    async def __call__(self, server):
        self.asked.append(server["url"])
        return self.by_url.get(server["url"])


def decide(fetch, profile, idle_s):
    arbiter = make_unattended_arbiter({"gpu-quarter": 1800}, {"gpu-quarter": 300}, "gpu-quarter", fetch)
    server = {"url": f"/user/{profile}/", "state": {"profile": profile}}
    return asyncio.run(arbiter(inactive=None if idle_s is None else timedelta(seconds=idle_s),
                               inactive_limit=3600, server=server))


@pytest.mark.parametrize("profile, kernels, idle_s, culled", [
    ("gpu-quarter", [DETACHED], 299, False),     # not idle long enough
    ("gpu-quarter", [DETACHED], 300, True),
    ("gpu-quarter", [], 900, True),
    ("gpu-quarter", [ATTACHED], 900, False),     # attended: waits for the profile's 1800 s
    ("gpu-quarter", [ATTACHED], 1800, True),
    ("gpu-quarter", None, 900, False),           # kernels unreadable: no cull on a guess
    ("cpu", [], 3000, False),                    # CPU profiles have no unattended timeout
    ("cpu", [], 3600, True),
    ("gpu-quarter", [], None, False),            # never active: the culler's own rule
])
def test_the_unattended_rule_culls_gpu_servers_nobody_is_connected_to_after_five_minutes(profile, kernels, idle_s,
                                                                                          culled):
    fetch = KernelLists({f"/user/{profile}/": kernels})
    assert decide(fetch, profile, idle_s) is culled


def test_servers_are_not_asked_for_their_kernels_before_the_unattended_timeout():
    fetch = KernelLists({"/user/gpu-quarter/": []})
    assert decide(fetch, "gpu-quarter", 120) is False
    assert fetch.asked == []


@pytest.mark.parametrize("profile, limit_s", [
    (Profile("q", "q", 0.25), 300),
    (Profile("w", "w", 1.0), 300),
    (Profile("c", "c", 0.0), 0),
    (Profile("q", "q", 0.25, unattended_timeout_s=0), 0),
    (Profile("c", "c", 0.0, unattended_timeout_s=600), 600),
])
def test_gpu_profiles_default_to_a_five_minute_unattended_timeout_and_cpu_profiles_to_none(profile, limit_s):
    assert profile.unattended_limit_s() == limit_s


def test_a_negative_unattended_timeout_is_refused_with_the_profile_named():
    with pytest.raises(ProfileError, match=r"profiles\[0\] \('q'\): unattended_timeout_s must be 0 or more"):
        validate_profiles([Profile("q", "q", 0.25, unattended_timeout_s=-1)])


def test_the_culler_gets_the_unattended_timeouts_the_proxy_url_and_access_to_servers(tmp_path):
    c = Config()
    configure(c, HubSettings(data_dir=tmp_path, gpus=[], port=8123, ip="0.0.0.0"))
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    timeouts = json.loads(culler["environment"][TIMEOUTS_ENV])
    assert timeouts["unattended"] == {"gpu-quarter": 300, "gpu-half": 300, "gpu-whole": 300}
    assert timeouts["proxy_url"] == "http://127.0.0.1:8123"
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "idle-culler")
    assert "access:servers" in role["scopes"]


def test_without_unattended_timeouts_the_culler_gets_no_access_to_servers(tmp_path):
    c = Config()
    profiles = [{"slug": "gpu-quarter", "display_name": "0.25 GPU", "gpu_fraction": 0.25, "unattended_timeout_s": 0}]
    configure(c, HubSettings(data_dir=tmp_path, gpus=[], profiles=profiles))
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    assert json.loads(culler["environment"][TIMEOUTS_ENV])["unattended"] == {}
    role = next(r for r in c.JupyterHub.load_roles if r["name"] == "idle-culler")
    assert "access:servers" not in role["scopes"]
