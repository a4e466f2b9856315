"""What a participant reads while their server starts: the hub's progress event stream of a real spawn."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.integration

# POST returns at once, so the spawn is still pending when the progress stream is opened
QUICK_RETURN = 'c.JupyterHub.tornado_settings = {"slow_spawn_timeout": 0}\n'


def follow_spawn(hub, name: str, profile: str) -> list[dict]:
    """Ask for ``name``'s server and read /hub/api/users/<name>/server/progress to its end."""
    token = hub.user_token(name)
    with hub.api(token) as api:
        r = api.post(f"/users/{name}/server", json={"user_options": {"profile": profile}})
        assert r.status_code == 202, r.text
        events = []
        with api.stream("GET", f"/users/{name}/server/progress") as stream:
            assert stream.status_code == 200
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
    return events


def test_a_quarter_gpu_spawn_reports_profile_slice_kernel_culling_and_start_in_plain_words(make_hub):
    hub = make_hub(extra_config=QUICK_RETURN)
    events = follow_spawn(hub, "pia", "gpu-quarter")
    assert events[-1].get("ready") is True, events
    assert events[-1]["url"] == "/user/pia/"
    messages = [e["message"] for e in events[:-1]]
    expected_in_order = [
        "Profile 0.25 GPU: 0.25 GPU · 8 GiB · 1 CPU",
        "GPU 0: 0.25 slice reserved",
        "Kernels idle for 15 min are shut down to free the GPU; your server and files stay",
        "With no notebook tab open for 5 min, your server stops and its GPU slice goes to someone else; your "
        "files stay",
        "Starting your sandboxed server",
    ]
    assert [m for m in messages if m in expected_in_order] == expected_in_order, messages
    percents = [e["progress"] for e in events]
    assert percents == sorted(percents) and percents[-1] == 100, percents
    assert hub.wait_ready("pia")["ready"]


def test_a_cpu_spawn_reserves_no_slice_and_its_kernel_culling_frees_memory_not_a_gpu(make_hub):
    hub = make_hub(extra_config=QUICK_RETURN)
    events = follow_spawn(hub, "cyd", "cpu")
    assert events[-1].get("ready") is True, events
    messages = [e["message"] for e in events[:-1]]
    assert "Profile CPU only: no GPU · 4 GiB · 1 CPU" in messages
    assert not any("slice reserved" in m for m in messages), messages
    assert "Kernels idle for 60 min are shut down to free their memory; your server and files stay" in messages
    assert not any("no notebook tab open" in m for m in messages), messages  # CPU servers are not culled early


def test_a_spawn_with_no_slice_free_ends_the_stream_with_the_reason(make_hub):
    hub = make_hub({"gpus": [{"index": 0, "name": "FakeGPU", "mem_mib": 16000}]}, extra_config=QUICK_RETURN)
    assert follow_spawn(hub, "first", "gpu-whole")[-1].get("ready") is True
    events = follow_spawn(hub, "second", "gpu-quarter")
    assert events[-1].get("failed") is True, events
    assert "no 0.25 GPU slice free: 1/1 GPUs full" in events[-1]["message"], events
