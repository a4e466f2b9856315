"""Quotas through a real gateway (FakeExecutor): refusals with reset times, windows, stops at budget, audit, notices."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from arenahub.gateway.quotamodels import LedgerRow
from arenahub.quota import week_bounds
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.quota.receivers import MailReceiver, WebhookReceiver

pytestmark = pytest.mark.integration


async def restart_with(gateway, **groups):
    """Restart the gateway with extra settings groups (quota, notify ...)."""
    await gateway.served[-1].stop()
    gateway.settings_overrides.update(groups)
    await gateway.start()
    return gateway


def charge_directly(database_url, user, gpu_seconds, *, end=None):
    """Put one ledger row for ``user`` into the database, ending at ``end`` (default now)."""
    end = end or time.time()
    engine = create_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            session.add(LedgerRow(key=f"test:{user}:{end}", user=user, competition="", source="job", source_id="seeded",
                                  gpu_fraction=1.0, start_at=end - gpu_seconds, end_at=end, gpu_seconds=gpu_seconds))
    finally:
        engine.dispose()


async def register_dataset(gateway, folder):
    """Register a small dataset (train/, test/inputs/, test/annotations/) and return its name."""
    for part in ("train", "test/inputs", "test/annotations"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    name = unique_user("data")
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser:
        reply = await organiser.post("/datasets", json={"name": name, "path": str(folder)})
        assert reply.status_code == 201, reply.text
    return name


async def test_a_user_at_budget_is_refused_with_429_the_reason_and_the_reset_time(gateway):
    await restart_with(gateway, quota={"limits": {"gpu_hours": 0.01}})
    name = unique_user("ada")
    charge_directly(gateway.database_url, name, 36.0)  # 0.01 GPU-hours: all of it
    async with gateway.client(gateway.hub.token_for(name)) as ada:
        reply = await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": 1})
        quota = (await ada.get("/quota")).json()
    reset = week_bounds(time.time())[1]
    assert reply.status_code == 429, reply.text
    body = reply.json()
    assert body["error"] == "quota-gpu-hours"
    assert "0.01 GPU-hours this week" in body["message"] and "resets Monday" in body["message"]
    assert datetime.fromisoformat(body["resets_at"]).timestamp() == reset
    assert abs(int(reply.headers["Retry-After"]) - (reset - time.time())) < 5
    assert gateway.stored_jobs() == 0 and gateway.snapshot_folders() == []
    assert (quota["gpu_hours_used"], quota["gpu_hours_left"], quota["gpu_hours_limit"]) == (0.01, 0.0, 0.01)


async def test_a_closed_window_refuses_submissions_with_403_and_the_reason(gateway):
    closed = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    await restart_with(gateway, quota={"window": {"closes_at": closed}})
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        reply = await submit(ada, {"kind": "train", "entrypoint": "train.py"})
        quota = (await ada.get("/quota")).json()
    assert reply.status_code == 403
    assert reply.json()["error"] == "competition-closed" and "accepts no more submissions" in reply.json()["message"]
    assert quota["is_open"] is False and "closed" in quota["window_message"]


async def test_daily_test_submissions_are_counted_and_training_is_not(gateway, tmp_path):
    await restart_with(gateway, quota={"limits": {"submissions_per_day": 1}})
    data = await register_dataset(gateway, tmp_path / "data")
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        first = await submit(ada, {"kind": "test", "entrypoint": "train.py", "dataset": data})
        second = await submit(ada, {"kind": "test", "entrypoint": "train.py", "dataset": data})
        training = await submit(ada, {"kind": "train", "entrypoint": "train.py"})
        quota = (await ada.get("/quota")).json()
    assert (first.status_code, second.status_code, training.status_code) == (201, 429, 201)
    assert second.json()["error"] == "quota-submissions-daily" and second.json()["resets_at"].endswith("+00:00")
    assert (quota["submissions_today"], quota["submissions_left_today"]) == (1, 0)


async def test_the_spawn_check_refuses_gpu_notebooks_over_budget_and_allows_cpu_ones(gateway):
    await restart_with(gateway, quota={"limits": {"gpu_hours": 0.01}})
    name = unique_user("ada")
    charge_directly(gateway.database_url, name, 40.0)
    async with gateway.client(gateway.hub.token_for(name)) as ada:
        gpu = await ada.get("/quota/spawn-check", params={"gpu_fraction": 0.25})
        cpu = await ada.get("/quota/spawn-check", params={"gpu_fraction": 0})
    assert gpu.status_code == 429 and "start a GPU notebook" in gpu.json()["message"]
    assert cpu.status_code == 200 and cpu.json() == {"allowed": True}


async def test_a_job_that_reaches_the_budget_is_stopped_with_a_notice_in_its_log(gateway):
    await restart_with(gateway, quota={"limits": {"gpu_hours": 1 / 3600}, "charge_interval_s": 0.2})
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        job = (await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": 1,
                                  "env": {"FAKE_END": "hang"}})).json()
        done = await wait_for_status(ada, job["id"], {"cancelled", "succeeded", "failed"}, timeout_s=20)
        lines = (await ada.get(f"/jobs/{job['id']}/logs", params={"format": "json"})).json()["lines"]
        refused = await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": 1})
    assert done["status"] == "cancelled"
    assert "stopped by the GPU quota" in done["reason"]
    assert lines[-1]["stream"] == "system" and "stopped by the GPU quota" in lines[-1]["text"]
    assert refused.status_code == 429


async def test_admins_read_the_audit_trail_and_participants_get_403(gateway, tmp_path):
    await restart_with(gateway, quota={"limits": {"submissions_total": 1}})
    data = await register_dataset(gateway, tmp_path / "data")
    name = unique_user("ada")
    async with gateway.client(gateway.hub.token_for(name)) as ada:
        spec = {"kind": "test", "entrypoint": "train.py", "dataset": data}
        assert (await submit(ada, spec)).status_code == 201
        assert (await submit(ada, spec)).status_code == 429
        forbidden = await ada.get("/audit")
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser:
        everything = (await organiser.get("/audit", params={"user": name})).json()["events"]
        refusals = (await organiser.get("/audit", params={"user": name, "kind": "quota-refused"})).json()["events"]
        bad_kind = await organiser.get("/audit", params={"kind": "nonsense"})
    assert forbidden.status_code == 403 and forbidden.json()["error"] == "admin-only"
    assert [e["kind"] for e in everything] == ["quota-refused", "submission"]
    assert refusals[0]["detail"]["reason"] == "quota-submissions-total"
    assert bad_kind.status_code == 422 and "submission" in bad_kind.json()["message"]


async def test_users_set_their_own_notifications_and_bad_values_are_refused(gateway):
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        before = (await ada.get("/notifications")).json()
        bad = await ada.put("/notifications", json={"webhook_url": "ftp://x", "events": ["job_end", "party"]})
        saved = await ada.put("/notifications", json={"email": "ada@example.org", "events": ["job_failed"]})
    assert before["is_default"] is True and before["email"] is None
    assert bad.status_code == 422 and "ftp://x" in bad.json()["message"] and "party" in bad.json()["message"]
    assert saved.status_code == 200
    assert (saved.json()["email"], saved.json()["events"], saved.json()["is_default"]) == ("ada@example.org", ["job_failed"], False)


async def test_job_end_failure_and_low_quota_reach_a_real_webhook_and_a_real_smtp_server(gateway):
    with WebhookReceiver() as hook, MailReceiver() as mail:
        await restart_with(
            gateway,
            quota={"limits": {"gpu_hours": 1.0, "low_quota_fraction": 0.5}, "charge_interval_s": 0.2},
            notify={"smtp_host": "127.0.0.1", "smtp_port": mail.port, "mail_from": "arena@example.org"},
        )
        name = unique_user("ada")
        charge_directly(gateway.database_url, name, 0.6 * 3600)  # 0.4 of 1 GPU-hour left: low
        async with gateway.client(gateway.hub.token_for(name)) as ada:
            put = await ada.put("/notifications", json={"webhook_url": hook.url, "email": "ada@example.org"})
            assert put.status_code == 200, put.text
            ok = (await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": 1})).json()
            bad = (await submit(ada, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "fail"}})).json()
            await wait_for_status(ada, ok["id"], {"succeeded"})
            await wait_for_status(ada, bad["id"], {"failed"})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (len(hook.received) < 3 or len(mail.messages) < 3):
            await asyncio.sleep(0.1)
    events = sorted((m["event"], m.get("job_id")) for m in hook.received)
    assert events == sorted([("job_end", ok["id"]), ("job_failed", bad["id"]), ("low_quota", None)]), hook.received
    subjects = sorted(m["Subject"] for m in mail.messages)
    assert any(ok["id"] in s and "succeeded" in s for s in subjects)
    assert any(bad["id"] in s and "failed" in s for s in subjects)
    assert any("quota is running low" in s for s in subjects)
    assert all(m["To"] == "ada@example.org" and m["From"] == "arena@example.org" for m in mail.messages)
