"""`arenahub run --demo`: the demo competition exists at start, and new homes start with the demo notebook."""

import json
import os
import shutil
import time

import httpx
import pytest

from tests.support.hub import RunningHub

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the hub's servers need root and bubblewrap (make test-deps)"),
]


def competitions(hub: RunningHub, token: str, timeout_s: float = 60) -> list[dict]:
    """The gateway's competitions, read through the proxy as a participant, once the gateway answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            r = httpx.get(f"{hub.url}/services/arenahub-gateway/competitions",
                          headers={"Authorization": f"token {token}"}, timeout=10)
            if r.status_code == 200:
                return r.json()["competitions"]
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"the gateway did not list competitions:\n{hub.log_tail()}")
        time.sleep(0.3)


def test_demo_mode_creates_the_demo_competition_once_and_seeds_new_homes(tmp_path):
    hub = RunningHub(tmp_path / "demo", {"demo": True, "gpus": [{"index": 0, "name": "FakeGPU", "mem_mib": 16000}]})
    hub.start()
    try:
        token = hub.user_token("newcomer")
        listed = competitions(hub, token)
        assert [c["id"] for c in listed] == ["demo"], listed
        assert "authenticator: dummy lets anyone sign in" in hub.log_path.read_text(), "no warning for dummy sign-in"

        with hub.api(token) as api:
            assert api.post("/users/newcomer/server", json={"user_options": {"profile": "cpu"}}).status_code in (201, 202)
        hub.wait_ready("newcomer")
        home = hub.data_dir / "homes" / "newcomer"
        notebook = json.loads((home / "Start here.ipynb").read_text())
        assert "Workbench(" in "".join(notebook["cells"][1]["source"])
        assert (home / "demo-job" / "train.py").is_file() and (home / "demo-job" / "predict.py").is_file()
        owner = (home / "demo-job" / "train.py").stat().st_uid
        assert owner == (home).stat().st_uid and owner != 0, "the demo files must belong to the user"

        with hub.api() as api:
            api.delete("/users/newcomer/server")
        hub.wait_stopped("newcomer")
        hub.stop()
        hub.start()  # a second start must not create the competition again, nor fail on it
        assert [c["id"] for c in competitions(hub, token)] == ["demo"]
    finally:
        with hub.api() as api:
            if hub.proc and hub.proc.poll() is None and api.get("/users/newcomer").json()["servers"]:
                api.delete("/users/newcomer/server")
                hub.wait_stopped("newcomer")
        hub.stop()
