"""Retention of uploaded code: the gateway's sweep removes old uploads, keeps what leaderboards need, answers 410.

Real gateway, real hub, SQLite and PostgreSQL. The live sweep runs with a retention of seconds;
the rule's edges (leaderboard entries, open competitions, crafted rows) drive the same sweep
with a clock set weeks ahead.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.orm import Session

from arenahub.demo import install
from arenahub.gateway.db import Database
from arenahub.gateway.models import Job
from arenahub.gateway.retention import DAY_S
from arenahub.gateway.retention_settings import RetentionSettings
from arenahub.gateway.retentionkeeper import RetentionKeeper
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import TRAIN_PY, make_archive
from tests.support.scores import wait_for_score

pytestmark = pytest.mark.integration

needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                                   reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)")
WEEKS_AHEAD = 40 * DAY_S


async def _restart_with(gateway, retention: dict, executor=None):
    """The harness's gateway, started again with these retention settings."""
    gateway.settings_overrides["retention"] = retention
    await gateway.served[-1].stop()
    await gateway.start(executor=executor)
    return gateway


@pytest.fixture
async def database(gateway) -> AsyncIterator[Database]:
    db = Database.from_url(gateway.database_url)
    yield db
    await db.close()


def _sweeper(gateway, database: Database, *, days: float, ahead_s: float) -> RetentionKeeper:
    """The gateway's sweep over its database and state folder, with a clock ``ahead_s`` in the future."""
    return RetentionKeeper(RetentionSettings(snapshot_days=days), database, gateway.state_dir,
                           clock=lambda: time.time() + ahead_s)


async def _wait_removed(client, job_id: str, timeout_s: float = 20) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        job = (await client.get(f"/jobs/{job_id}")).json()
        if job["snapshot_removed_at"] is not None:
            return job
        if time.monotonic() > deadline:
            raise TimeoutError(f"the upload of job {job_id} was not removed within {timeout_s} s: {job}")
        await asyncio.sleep(0.1)


async def test_the_live_sweep_removes_a_finished_jobs_upload_keeps_a_running_one_and_answers_410(gateway, caplog):
    await _restart_with(gateway, {"snapshot_days": 5 / DAY_S, "sweep_interval_s": 0.2})  # five seconds
    caplog.set_level(logging.INFO, logger="arenahub.gateway.retentionkeeper")
    ada_name = unique_user("ada")
    code = make_archive({"train.py": TRAIN_PY, "lib/util.py": "X = 1\n"})
    async with gateway.client(gateway.hub.token_for(ada_name)) as ada, \
            gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin:
        done = (await submit(ada, {"kind": "train", "entrypoint": "train.py"}, code=code)).json()
        running = (await submit(ada, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(ada, done["id"], {"succeeded"})
        await wait_for_status(ada, running["id"], {"running"})
        assert (await ada.get(f"/jobs/{done['id']}/snapshot")).content == code  # kept while young

        removed = await _wait_removed(ada, done["id"])
        served = await ada.get(f"/jobs/{done['id']}/snapshot")
        rerun = await admin.post(f"/jobs/{done['id']}/rerun")
        still_running = await ada.get(f"/jobs/{running['id']}/snapshot")
        audit = (await admin.get("/audit", params={"kind": "retention"})).json()["events"]
        gateway.executor.finish(running["id"], "succeeded", 0)

    assert removed["code_sha256"] == done["code_sha256"] and removed["status"] == "succeeded"
    assert served.status_code == rerun.status_code == 410
    body = served.json()
    assert body["error"] == rerun.json()["error"] == "snapshot-removed"
    assert f"job {done['id']} was removed on " in body["message"] and "retention rule" in body["message"]
    assert done["code_sha256"] in body["message"]
    folder = gateway.state_dir / "jobs" / done["id"]
    assert not (folder / "code.tar.gz").exists() and not (folder / "code").exists()

    assert still_running.status_code == 200  # running for longer than the retention: still kept
    assert (gateway.state_dir / "jobs" / running["id"] / "code" / "train.py").exists()

    [event] = [e for e in audit if e["detail"]["job_id"] == done["id"]]
    assert (event["actor"], event["subject"]) == ("gateway", ada_name)
    assert event["detail"]["code_sha256"] == done["code_sha256"]
    assert f"removed the uploaded code of train job {done['id']}" in event["message"]
    assert any("Retention: removed the uploaded code" in r.getMessage() and done["id"] in r.getMessage()
               for r in caplog.records)
    assert gateway.stored_jobs() == 2  # the refused re-run stored nothing


async def test_retention_zero_keeps_every_upload_forever(gateway, database):
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        job = (await submit(ada, {"kind": "train", "entrypoint": "train.py"})).json()
        await wait_for_status(ada, job["id"], {"succeeded"})
        assert gateway.settings().retention.snapshot_days == 0  # the default
        report = await _sweeper(gateway, database, days=0, ahead_s=10 * 365 * DAY_S).sweep()
        served = await ada.get(f"/jobs/{job['id']}/snapshot")
        shown = (await ada.get(f"/jobs/{job['id']}")).json()
    assert report.removed == () and served.status_code == 200
    assert shown["snapshot_removed_at"] is None


async def test_a_crafted_job_row_or_a_linked_job_folder_makes_the_sweep_delete_nothing_outside(
        gateway, database, tmp_path):
    victim = tmp_path / "victim"
    (victim / "code").mkdir(parents=True)
    (victim / "code" / "precious.py").write_text("1")
    (victim / "code.tar.gz").write_bytes(b"precious")
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        linked = (await submit(ada, {"kind": "train", "entrypoint": "train.py"})).json()
        plain = (await submit(ada, {"kind": "train", "entrypoint": "train.py"})).json()
        for job in (linked, plain):
            await wait_for_status(ada, job["id"], {"succeeded"})
    # the folder of one job swapped for a link to files outside the state folder
    shutil.rmtree(gateway.state_dir / "jobs" / linked["id"])
    (gateway.state_dir / "jobs" / linked["id"]).symlink_to(victim)
    # rows the gateway would never write, with ids that climb out of jobs/
    crafted = ["../../victim", "..", f"../{victim.name}"]
    finished = time.time() - 1

    def insert(session: Session) -> None:
        for job_id in crafted:
            session.add(Job(id=job_id, user="mallory", kind="train", spec={}, code_sha256="0" * 64, code_bytes=1,
                            dataset=None, gpus_requested=0, status="succeeded", created_at=finished,
                            finished_at=finished, log_offset=0, log_lines=0))

    await database.write(insert)
    report = await _sweeper(gateway, database, days=30, ahead_s=WEEKS_AHEAD).sweep()

    assert report.removed == (plain["id"],)
    assert sorted(job_id for job_id, _ in report.refused) == sorted([linked["id"], *crafted])
    assert (victim / "code" / "precious.py").read_text() == "1" and (victim / "code.tar.gz").read_bytes() == b"precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state", "victim"]
    refused_ids = [linked["id"], *crafted]
    unmarked = await database.read(lambda s: [s.get(Job, i).snapshot_removed_at for i in refused_ids])
    assert unmarked == [None] * len(refused_ids)  # left for the operator to look at, never marked removed


PREDICT = """
import json, os, pathlib
inputs = pathlib.Path(os.environ["ARENAHUB_DATA_DIR"]) / "test" / "inputs"
out = pathlib.Path(os.environ["ARENAHUB_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
for path in sorted(inputs.glob("*.json")):
    (out / path.name).write_text(json.dumps({"label": "cat", "count": len(json.loads(path.read_text())["points"])}))
"""


@needs_sandbox
async def test_leaderboard_entries_are_kept_and_scored_reruns_only_once_their_competition_is_closed(
        gateway, database, tmp_path):
    from arenahub.gateway.executors.local import LocalExecutor

    await _restart_with(gateway, {}, executor=LocalExecutor(gateway.state_dir))
    demo = install(tmp_path / "demo")
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin, \
            gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        assert (await admin.post("/competitions", json={"source": demo.yaml_text})).status_code == 201
        entry = (await submit(ada, {"kind": "test", "entrypoint": "predict.py", "dataset": "demo-points"},
                              code=make_archive({"predict.py": PREDICT}))).json()
        train = (await submit(ada, {"kind": "train", "entrypoint": "train.py"})).json()
        for job in (entry, train):
            done = await wait_for_status(ada, job["id"], {"succeeded", "failed"}, timeout_s=90)
            assert done["status"] == "succeeded", done
        assert (await wait_for_score(ada, entry["id"], 90))["status"] == "scored"
        rerun = (await admin.post(f"/jobs/{entry['id']}/rerun")).json()  # scored, but never a leaderboard entry
        await wait_for_status(admin, rerun["id"], {"succeeded"}, timeout_s=90)
        assert (await wait_for_score(admin, rerun["id"], 90))["on_leaderboard"] is False

        while_open = await _sweeper(gateway, database, days=30, ahead_s=WEEKS_AHEAD).sweep()
        assert (await admin.post("/competitions/demo/close")).status_code == 200
        after_close = await _sweeper(gateway, database, days=30, ahead_s=WEEKS_AHEAD).sweep()

        entry_snapshot = await ada.get(f"/jobs/{entry['id']}/snapshot")
        train_snapshot = await ada.get(f"/jobs/{train['id']}/snapshot")
        rerun_of_entry = await admin.post(f"/jobs/{entry['id']}/rerun")
        if rerun_of_entry.status_code == 201:  # let the sandboxed run end before the gateway stops
            await wait_for_status(admin, rerun_of_entry.json()["id"], {"succeeded", "failed"}, timeout_s=90)

    assert while_open.removed == (train["id"],)  # the entry and the open competition's re-run stay
    assert after_close.removed == (rerun["id"],)  # closed: the re-run goes, the leaderboard entry stays
    assert entry_snapshot.status_code == 200
    assert entry_snapshot.headers["X-Arenahub-Snapshot-Sha256"] == entry["code_sha256"]
    assert train_snapshot.status_code == 410
    assert rerun_of_entry.status_code == 201
