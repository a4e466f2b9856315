"""A competition's own ``quotas:`` and the site-wide limits both apply to its jobs; the stricter refusal wins."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
import yaml

from arenahub.demo import install
from arenahub.quota import day_bounds, week_bounds
from tests.integration.gateway.api_helpers import submit, unique_user
from tests.integration.quota.test_quota_api import charge_directly, restart_with

pytestmark = pytest.mark.integration


async def create_competition(gateway, folder, quotas):
    """Create the demo competition with ``quotas`` as its quotas section; returns its dataset's name."""
    demo = install(folder)
    spec = yaml.safe_load(demo.yaml_text)
    spec["quotas"] = quotas
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as organiser:
        reply = await organiser.post("/competitions", json={"source": yaml.safe_dump(spec)})
    assert reply.status_code == 201, reply.text
    return reply.json()["dataset"]


def spec_of_test(dataset):
    return {"kind": "test", "entrypoint": "train.py", "gpus": 1, "dataset": dataset}


async def test_a_competition_stricter_than_the_site_refuses_with_its_own_limit_and_reset(gateway, tmp_path):
    await restart_with(gateway, quota={"limits": {"gpu_hours": 100, "submissions_per_day": 5}})
    dataset = await create_competition(gateway, tmp_path / "demo", {"submissions_per_day": 1, "gpu_hours": 10})
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        first = await submit(ada, spec_of_test(dataset))
        second = await submit(ada, spec_of_test(dataset))
        training = await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": 1})
    assert (first.status_code, second.status_code, training.status_code) == (201, 429, 201), second.text
    body = second.json()
    assert body["error"] == "quota-submissions-daily" and body["limit"] == "competition demo"
    assert "Limit of competition 'demo'" in body["message"] and "test submissions for today" in body["message"]
    assert datetime.fromisoformat(body["resets_at"]).timestamp() == day_bounds(time.time())[1]
    assert gateway.stored_jobs() == 2 and len(gateway.snapshot_folders()) == 2  # the refused one left nothing


async def test_the_site_limit_still_applies_to_a_competition_job_when_it_is_stricter(gateway, tmp_path):
    await restart_with(gateway, quota={"limits": {"gpu_hours": 0.01}})
    dataset = await create_competition(gateway, tmp_path / "demo", {"gpu_hours": 10, "submissions_per_day": 20})
    name = unique_user("bob")
    charge_directly(gateway.database_url, name, 36.0)  # the site's 0.01 GPU-hours: all of it
    async with gateway.client(gateway.hub.token_for(name)) as bob, \
            gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin:
        reply = await submit(bob, spec_of_test(dataset))
        audit = (await admin.get("/audit", params={"kind": "quota-refused", "user": name})).json()["events"]
    assert reply.status_code == 429, reply.text
    body = reply.json()
    assert body["error"] == "quota-gpu-hours" and body["limit"] == "site"
    assert "0.01 GPU-hours this week" in body["message"] and "Site-wide limit" in body["message"]
    assert datetime.fromisoformat(body["resets_at"]).timestamp() == week_bounds(time.time())[1]
    assert reply.headers["Retry-After"].isdigit()
    assert gateway.stored_jobs() == 0 and gateway.snapshot_folders() == []
    assert [(e["detail"]["limit"], e["detail"]["competition"]) for e in audit] == [("site", "demo")]


async def test_when_both_refuse_the_limit_that_frees_up_last_wins(gateway, tmp_path):
    await restart_with(gateway, quota={"limits": {"submissions_per_day": 1}})
    dataset = await create_competition(gateway, tmp_path / "demo", {"submissions_total": 1})
    async with gateway.client(gateway.hub.token_for(unique_user("cy"))) as cy:
        assert (await submit(cy, spec_of_test(dataset))).status_code == 201
        second = await submit(cy, spec_of_test(dataset))
    # The site's daily limit resets tomorrow; the competition's total never does: that one is stricter.
    assert second.status_code == 429
    assert (second.json()["error"], second.json()["limit"]) == ("quota-submissions-total", "competition demo")
    assert second.json()["resets_at"] is None
