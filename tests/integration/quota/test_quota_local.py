"""Quotas with the real bubblewrap LocalExecutor: a sandboxed job stopped at budget; exact charges across kill -9."""

from __future__ import annotations

import json
import os
import shutil
import time

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from arenahub.gateway.quotamodels import LedgerRow
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import make_archive
from tests.integration.gateway.processes import GatewayProcess, free_port, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)"),
]

CHARGE_INTERVAL_S = 0.5
TICKER = """
import time
for n in range(60):
    print(f"tick {n}", flush=True)
    time.sleep(0.1)
"""
FOREVER = "import time\nwhile True:\n    print('working', flush=True)\n    time.sleep(0.2)\n"


def ledger_rows(database_url: str, job_id: str) -> list[LedgerRow]:
    engine = create_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(select(LedgerRow).where(LedgerRow.source_id == job_id).order_by(LedgerRow.start_at))
            return list(rows)
    finally:
        engine.dispose()


async def test_a_sandboxed_job_that_reaches_the_budget_is_stopped_with_a_notice(gateway):
    from arenahub.gateway.executors.local import LocalExecutor

    await gateway.served[-1].stop()
    gateway.settings_overrides.update(quota={"limits": {"gpu_hours": 2 / 3600}, "charge_interval_s": 0.3})
    await gateway.start(executor=LocalExecutor(gateway.state_dir))
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        job = (await submit(ada, {"kind": "train", "entrypoint": "forever.py", "gpus": 1},
                            code=make_archive({"forever.py": FOREVER}))).json()
        done = await wait_for_status(ada, job["id"], {"cancelled", "failed", "succeeded", "timeout"}, timeout_s=60)
        lines = (await ada.get(f"/jobs/{job['id']}/logs", params={"format": "json", "limit": 5000})).json()["lines"]
    assert done["status"] == "cancelled", done
    assert "stopped by the GPU quota" in done["reason"]
    system = [line["text"] for line in lines if line["stream"] == "system"]
    assert "stopped by the GPU quota" in system[-1] and "Output up to now is kept" in system[-1]
    assert "working" in [line["text"] for line in lines]
    ran_s = done["finished_at"] - done["started_at"]
    assert 2.0 <= ran_s < 2.0 + 3 * 0.3 + 5  # budget, plus a charge interval or so, plus the sandbox's stop


def test_after_kill_9_of_the_gateway_the_ledger_equals_the_real_run_time_exactly_once(hub, database_url, tmp_path):
    from tests.integration.gateway.conftest import wipe_database

    wipe_database(database_url)
    env = {
        "JUPYTERHUB_API_URL": hub.api_url,
        "JUPYTERHUB_API_TOKEN": hub.gateway_token,
        "JUPYTERHUB_SERVICE_PREFIX": "/services/arenahub-gateway/",
        "ARENAHUB_GATEWAY_DB__URL": database_url,
        "ARENAHUB_GATEWAY_PATHS__STATE_DIR": str(tmp_path / "state"),
        "ARENAHUB_GATEWAY_SCHEDULER__INTERVAL_S": "0.2",
        "ARENAHUB_GATEWAY_CLUSTER__NODES": json.dumps({"local": 2}),
        "ARENAHUB_GATEWAY_QUOTA__CHARGE_INTERVAL_S": str(CHARGE_INTERVAL_S),
    }
    port = free_port()
    first = GatewayProcess(env, port, tmp_path / "gateway.log").start()
    second = None
    try:
        token = hub.token_for(unique_user("ada"))
        with httpx.Client(base_url=first.url, headers={"Authorization": f"token {token}"}, timeout=30) as api:
            reply = api.post("/jobs", files={"code": ("job.tgz", make_archive({"ticker.py": TICKER}))},
                             data={"spec": '{"kind": "train", "entrypoint": "ticker.py", "gpus": 2, "time_limit_s": 120}'})
            assert reply.status_code == 201, reply.text
            job_id = reply.json()["id"]
            wait_until(lambda: len(ledger_rows(database_url, job_id)) >= 2, 30, "two charges committed")
            first.kill()
            time.sleep(1.5)  # the job runs on, unwatched and uncharged, while no gateway lives
            second = GatewayProcess(env, port, tmp_path / "gateway.log").start()
            job = wait_until(
                lambda: (j := api.get(f"/jobs/{job_id}").json())["status"] not in ("queued", "running") and j,
                60, "the job to finish",
            )
            wait_until(lambda: api.get("/quota").json()["gpu_hours_used"] > 0 and
                       abs(ledger_rows(database_url, job_id)[-1].end_at - job["finished_at"]) < CHARGE_INTERVAL_S + 1,
                       20, "the final charge")
            quota = api.get("/quota").json()
        rows = ledger_rows(database_url, job_id)
    finally:
        first.kill()
        if second is not None:
            second.stop()
        wipe_database(database_url)
    assert job["status"] == "succeeded", (job, second.log_tail() if second else "")
    real_gpu_s = 2 * (job["finished_at"] - job["started_at"])
    charged_gpu_s = sum(r.gpu_seconds for r in rows)
    # No double charge and no free seconds: the entries tile [started_at, end) without gaps or overlaps.
    assert rows[0].start_at == pytest.approx(job["started_at"], abs=1e-3)
    assert all(a.end_at == pytest.approx(b.start_at, abs=1e-3) for a, b in zip(rows, rows[1:]))
    assert len({r.key for r in rows}) == len(rows)
    assert abs(charged_gpu_s - real_gpu_s) <= 2 * CHARGE_INTERVAL_S, (charged_gpu_s, real_gpu_s)
    assert quota["gpu_hours_used"] == pytest.approx(charged_gpu_s / 3600, abs=1e-5)
