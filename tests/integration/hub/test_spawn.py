"""The embedded hub spawns sandboxed notebook servers on GPU slices (real hub, real servers)."""

import json

import httpx
import pytest

from tests.support.hub import browser_session
from tests.support.kernel import run_in_kernel

pytestmark = pytest.mark.integration


def spawn(hub, name, profile="gpu-quarter", token=None):
    token = token or hub.user_token(name)
    with hub.api(token) as api:
        r = api.post(f"/users/{name}/server", json={"user_options": {"profile": profile}})
    return r, token


def test_spawn_through_api_write_file_stop_respawn_file_persists(make_hub):
    hub = make_hub()
    r, token = spawn(hub, "alice")
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice")
    contents = f"{hub.url}/user/alice/api/contents/notes.txt"
    h = {"Authorization": f"token {token}"}
    r = httpx.put(contents, headers=h, json={"type": "file", "format": "text", "content": "keep me"})
    assert r.status_code == 201, r.text
    with hub.api() as api:
        assert api.delete("/users/alice/server").status_code in (202, 204)
    hub.wait_stopped("alice")
    r, _ = spawn(hub, "alice", token=token)
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("alice")
    r = httpx.get(contents, headers=h)
    assert r.status_code == 200 and r.json()["content"] == "keep me"


def test_spawn_through_the_form_uses_the_chosen_profile(make_hub):
    hub = make_hub()
    web = browser_session(hub, "bob")
    form = web.get("/hub/spawn")
    assert form.status_code == 200
    assert 'value="gpu-half"' in form.text and "0.25 GPU" in form.text
    xsrf = web.cookies.get("_xsrf", path="/hub/")
    r = web.post("/hub/spawn", data={"profile": "gpu-half", "_xsrf": xsrf})
    assert r.status_code in (200, 302), r.text
    web.close()
    model = hub.wait_ready("bob")
    assert model["user_options"] == {"profile": "gpu-half"}
    with hub.api() as api:
        state = api.get("/users/bob", params={"include_stopped_servers": 1}).json()["servers"][""]["state"]
    assert state["profile"] == "gpu-half" and state["slice"]["fraction"] == 0.5


def test_gpu_environment_inside_the_server_matches_its_slice(make_hub):
    hub = make_hub()
    r, token = spawn(hub, "carol", "gpu-quarter")
    hub.wait_ready("carol")
    out = run_in_kernel(hub.url, "carol", token, "import os, json; print(json.dumps({k: os.environ.get(k) for k in "
                        "['CUDA_VISIBLE_DEVICES', 'CUDA_MPS_ACTIVE_THREAD_PERCENTAGE', "
                        "'CUDA_MPS_PINNED_DEVICE_MEM_LIMIT', 'JUPYTERHUB_ACTIVITY_INTERVAL']}))")
    env = json.loads(out.strip().splitlines()[-1])
    assert env == {"CUDA_VISIBLE_DEVICES": "0", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": "25",
                   "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT": "0=4000M", "JUPYTERHUB_ACTIVITY_INTERVAL": "10"}


def test_half_slices_binpack_two_per_gpu_and_the_fifth_gets_a_clear_error(make_hub):
    hub = make_hub()
    gpus = []
    for name in ["u1", "u2", "u3", "u4"]:
        r, _ = spawn(hub, name, "gpu-half")
        assert r.status_code in (201, 202), r.text
        hub.wait_ready(name)
        with hub.api() as api:
            gpus.append(api.get(f"/users/{name}").json()["servers"][""]["state"]["slice"]["gpu_index"])
    assert gpus == [0, 0, 1, 1]
    r, _ = spawn(hub, "u5", "gpu-half")
    assert r.status_code == 409
    assert "no 0.5 GPU slice free: 2/2 GPUs full" in r.json()["message"]
    # a CPU profile still starts: the refusal is about GPU slices only
    r, _ = spawn(hub, "u6", "cpu")
    assert r.status_code in (201, 202), r.text


@pytest.mark.parametrize("options, fragment", [
    ({"profile": "gpu-eighth"}, "No profile 'gpu-eighth'. Available: cpu, gpu-quarter, gpu-half, gpu-whole."),
    ({"profile": 3}, "'profile' must be a string slug"),
    ({"profile": "cpu", "gpus": 8}, "Unknown option(s) gpus"),
])
def test_bad_user_options_get_400_with_the_reason_and_start_nothing(make_hub, options, fragment):
    hub = make_hub()
    token = hub.user_token("dave")
    with hub.api(token) as api:
        r = api.post("/users/dave/server", json={"user_options": options})
        assert r.status_code == 400, r.text
        assert fragment in r.json()["message"]
        assert api.get("/users/dave").json()["servers"] == {}
