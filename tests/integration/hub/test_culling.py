"""Idle culling per profile, and servers and slices across a hub restart (real hub + culler)."""

import time

import pytest

pytestmark = pytest.mark.integration

ONE_GPU = [{"index": 0, "name": "FakeGPU", "mem_mib": 16000}]
PROFILES = [
    {"slug": "cpu", "display_name": "CPU", "gpu_fraction": 0, "mem_gib": 2, "cpu": 1},
    {"slug": "gpu-whole", "display_name": "1 GPU", "gpu_fraction": 1, "mem_gib": 2, "cpu": 1,
     "idle_timeout_s": 12, "default": True},
]


def start_server(hub, name, profile):
    token = hub.user_token(name)
    with hub.api(token) as api:
        r = api.post(f"/users/{name}/server", json={"user_options": {"profile": profile}})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready(name)
    return token


def test_idle_gpu_server_is_culled_within_seconds_and_its_slice_is_free_again(make_hub):
    hub = make_hub({"gpus": ONE_GPU, "profiles": PROFILES,
                    "cull": {"timeout_s": 3600, "every_s": 2}})
    next_token = hub.user_token("next")
    start_server(hub, "idle-gpu", "gpu-whole")
    began = time.monotonic()  # the server's last activity is no earlier than its start
    with hub.api(next_token) as api:
        refused = api.post("/users/next/server", json={"user_options": {"profile": "gpu-whole"}})
    assert refused.status_code == 409, refused.text  # the only GPU is taken
    start_server(hub, "idle-cpu", "cpu")
    hub.wait_stopped("idle-gpu", timeout=60)
    culled_after = time.monotonic() - began
    assert culled_after < 40, f"culled only after {culled_after:.0f}s for a 12 s profile timeout"
    with hub.api() as api:
        assert api.get("/users/idle-cpu").json()["servers"][""]["ready"]  # hub-wide 1 h timeout
    start_server(hub, "next", "gpu-whole")  # the slice came back
    assert "Culling server idle-gpu" in (hub.data_dir / "hub-test.log").read_text()


def test_hub_restart_finds_running_servers_and_frees_slices_of_dead_ones(make_hub):
    hub = make_hub({"gpus": ONE_GPU + [{"index": 1, "name": "FakeGPU", "mem_mib": 16000}],
                    "profiles": PROFILES, "cull": {"enabled": False}})
    start_server(hub, "survivor", "gpu-whole")
    start_server(hub, "victim", "gpu-whole")
    with hub.api() as api:
        victim_pid = api.get("/users/victim").json()["servers"][""]["state"]["pid"]
        survivor_url = api.get("/users/survivor").json()["servers"][""]["url"]
    hub.stop(kill=True)  # the hub and proxy crash; servers keep running
    import os
    import signal
    os.killpg(victim_pid, signal.SIGKILL)  # and one server dies while the hub is down
    hub.start()
    with hub.api() as api:
        users = {u["name"]: u for u in api.get("/users").json()}
    assert users["survivor"]["servers"][""]["ready"]
    assert users["survivor"]["servers"][""]["url"] == survivor_url
    assert users["victim"]["servers"] == {}
    # GPU 1 (the victim's) is free again, GPU 0 is still held: one more whole-GPU server fits, not two
    start_server(hub, "newcomer", "gpu-whole")
    with hub.api(hub.user_token("late")) as api:
        assert api.post("/users/late/server", json={"user_options": {"profile": "gpu-whole"}}).status_code == 409
