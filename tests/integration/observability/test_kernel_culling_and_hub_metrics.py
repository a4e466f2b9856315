"""On a real embedded hub: idle kernels of a GPU profile are culled while the server stays; /hub/metrics counts spawns."""

import shutil
import time

import httpx
import pytest

from tests.integration.observability.scrape import parse_scrape, value

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed (make test installs it)"),
]

ONE_GPU = [{"index": 0, "name": "FakeGPU", "mem_mib": 16000}]
PROFILES = [
    {"slug": "gpu-quarter", "display_name": "0.25 GPU", "gpu_fraction": 0.25, "mem_gib": 2, "cpu": 1,
     "default": True, "kernel_idle_timeout_s": 3, "kernel_cull_interval_s": 1},
    {"slug": "gpu-whole", "display_name": "1 GPU", "gpu_fraction": 1, "mem_gib": 2, "cpu": 1},
]
# The test-admin service may also read /hub/metrics (the arenahub-metrics role gives admins that).
METRICS_READER = ("c.JupyterHub.load_roles = list(c.JupyterHub.load_roles) + [{'name': 'test-metrics', "
                  "'scopes': ['read:metrics'], 'services': ['test-admin']}]\n")


def kernels(hub, user, token):
    reply = httpx.get(f"{hub.url}/user/{user}/api/kernels", headers={"Authorization": f"token {token}"}, timeout=30)
    reply.raise_for_status()
    return reply.json()


def test_an_idle_kernel_is_culled_while_its_gpu_server_stays_up_and_spawns_are_counted(make_hub):
    hub = make_hub({"gpus": ONE_GPU, "profiles": PROFILES, "gateway": {"enabled": False},
                    "cull": {"timeout_s": 3600, "every_s": 60}}, extra_config=METRICS_READER)
    token = hub.user_token("kim")
    with hub.api(token) as api:
        assert api.post("/users/kim/server", json={"user_options": {"profile": "gpu-quarter"}}).status_code in (201, 202)
    hub.wait_ready("kim")
    started = httpx.post(f"{hub.url}/user/kim/api/kernels", json={"name": "python3"},
                         headers={"Authorization": f"token {token}"}, timeout=60)
    assert started.status_code == 201, started.text

    deadline = time.monotonic() + 60
    while kernels(hub, "kim", token):
        assert time.monotonic() < deadline, "the idle kernel was not culled within 60 s of a 3 s timeout"
        time.sleep(0.5)
    with hub.api() as api:
        assert api.get("/users/kim").json()["servers"][""]["ready"]  # the server itself stays up
    server_log = (hub.data_dir / "server-logs" / "kim--default.log").read_text()
    assert "Culling kernel" in server_log and "due to 3 seconds of inactivity" in server_log
    assert "Kernels idle for 3 s are shut down to free the GPU" in hub.log_tail(400)

    with hub.api(hub.user_token("lea")) as api:
        refused = api.post("/users/lea/server", json={"user_options": {"profile": "gpu-whole"}})
    assert refused.status_code == 409  # a quarter of the only GPU is held

    with hub.api() as api:
        scrape = api.get(f"{hub.url}/hub/metrics")
    assert scrape.status_code == 200, scrape.text
    samples = parse_scrape(scrape.text)
    assert value(samples, "arenahub_spawns_total", profile="gpu-quarter", result="ok") == 1
    assert value(samples, "arenahub_spawn_duration_seconds_count", profile="gpu-quarter") == 1
    assert value(samples, "arenahub_spawn_failures_total", profile="gpu-whole", reason="no-slice-free") == 1
    assert value(samples, "arenahub_running_servers", profile="gpu-quarter") == 1
    assert value(samples, "arenahub_gpu_slice_allocated_ratio", gpu="0") == 0.25
    assert value(samples, "arenahub_gpu_slice_free_ratio", gpu="0") == 0.75


def test_hub_metrics_are_refused_without_a_token(make_hub):
    hub = make_hub({"gpus": ONE_GPU, "profiles": PROFILES, "gateway": {"enabled": False}})
    assert httpx.get(f"{hub.url}/hub/metrics", timeout=30).status_code in (401, 403)
