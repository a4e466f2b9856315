"""kill -9 the gateway while a real sandboxed job prints a numbered line every 100 ms; restart; every line once."""

import os
import shutil
import time

import httpx
import pytest

from tests.integration.gateway.api_helpers import unique_user
from tests.integration.gateway.archives import make_archive
from tests.integration.gateway.processes import GatewayProcess, free_port, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)"),
]

LINES = 60
TICKER = f"""
import time
for n in range({LINES}):
    print(f"tick {{n}}", flush=True)
    time.sleep(0.1)
"""


def gateway_env(hub, database_url, state_dir):
    return {
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_API_TOKEN": hub.gateway_token,
        "JUPYTERHUB_SERVICE_PREFIX": "/services/arenahub-gateway/",
        "ARENAHUB_GATEWAY_DB__URL": database_url,
        "ARENAHUB_GATEWAY_PATHS__STATE_DIR": str(state_dir),
        "ARENAHUB_GATEWAY_SCHEDULER__INTERVAL_S": "0.2",
    }


def stored_lines(api, job_id):
    page = api.get(f"/jobs/{job_id}/logs", params={"format": "json", "limit": 5000}).json()
    return page["lines"]


def stdout_texts(lines):
    return [line["text"] for line in lines if line["stream"] == "stdout"]


def test_a_killed_gateway_restarts_and_stores_every_line_exactly_once(hub, database_url, tmp_path):
    from tests.integration.gateway.conftest import wipe_database

    wipe_database(database_url)
    port = free_port()
    env = gateway_env(hub, database_url, tmp_path / "state")
    first = GatewayProcess(env, port, tmp_path / "gateway.log").start()
    second = None
    try:
        token = hub.token_for(unique_user("ada"))
        with httpx.Client(base_url=first.url, headers={"Authorization": f"token {token}"}, timeout=30) as api:
            reply = api.post("/jobs", files={"code": ("job.tgz", make_archive({"ticker.py": TICKER}))},
                             data={"spec": '{"kind": "train", "entrypoint": "ticker.py", "time_limit_s": 120}'})
            assert reply.status_code == 201, reply.text
            job_id = reply.json()["id"]
            wait_until(lambda: len(stdout_texts(stored_lines(api, job_id))) >= 15, 30, "15 lines stored")
            first.kill()
            time.sleep(1.0)  # the job keeps printing while no gateway follows it
            second = GatewayProcess(env, port, tmp_path / "gateway.log").start()
            job = wait_until(
                lambda: (j := api.get(f"/jobs/{job_id}").json())["status"] not in ("queued", "running") and j,
                60, "the job to finish",
            )
            lines = stored_lines(api, job_id)
        assert job["status"] == "succeeded", (job, second.log_tail())
        assert stdout_texts(lines) == [f"tick {n}" for n in range(LINES)]
        assert [line["seq"] for line in lines] == list(range(len(lines)))  # the supervisor's lines too
    finally:
        first.kill()
        if second is not None:
            second.stop()
        wipe_database(database_url)
