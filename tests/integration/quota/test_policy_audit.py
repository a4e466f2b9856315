"""Log-policy decisions land in the audit trail: the first line held back per reason, and a summary at the job's end."""

from __future__ import annotations

import asyncio
import base64
import json
import os

import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.quota.test_quota_api import restart_with

pytestmark = pytest.mark.integration

BLOB = base64.b64encode(os.urandom(600)).decode()


async def policy_events(admin, user):
    reply = await admin.get("/audit", params={"kind": "policy", "user": user})
    assert reply.status_code == 200, reply.text
    return reply.json()["events"]


async def test_a_job_printing_a_base64_blob_leaves_policy_events_that_only_admins_read(gateway):
    await restart_with(gateway, logs={"policy": "filtered"})
    name = unique_user("ada")
    user_token = gateway.hub.token_for(name)
    admin_token = gateway.hub.token_for(gateway.hub.ORGANISER)
    lines = ["epoch 1 loss 0.5", BLOB, "epoch 2 loss 0.4", BLOB[::-1], "done"]
    async with gateway.client(user_token) as ada, gateway.client(admin_token) as admin:
        reply = await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": 1,
                                   "env": {"FAKE_PRINT": "|".join(lines)}})
        assert reply.status_code == 201, reply.text
        job_id = reply.json()["id"]
        await wait_for_status(ada, job_id, {"succeeded"})
        events = await policy_events(admin, name)
        held = (await admin.get(f"/jobs/{job_id}/withheld")).json()["lines"]
        refused = await ada.get("/audit", params={"kind": "policy"})
    assert refused.status_code == 403 and refused.json()["error"] == "admin-only"
    first = [e for e in events if e["detail"]["event"] == "first"]
    summary = [e for e in events if e["detail"]["event"] == "summary"]
    reasons = [e["detail"]["reason"] for e in first]
    assert "encoded-data" in reasons and len(reasons) == len(set(reasons))  # one event per reason, the first time
    assert {(e["detail"]["job_id"], e["detail"]["policy"]) for e in first} == {(job_id, "filtered")}
    assert len(summary) == 1 and set(summary[0]["detail"]["reasons"]) == set(reasons)
    expected: dict[str, int] = {}
    for line in held:
        expected[line["rule"]] = expected.get(line["rule"], 0) + 1
    assert summary[0]["detail"]["reasons"] == expected and expected["encoded-data"] >= 1
    assert summary[0]["detail"]["policy"] == "filtered" and summary[0]["subject"] == name
    assert BLOB not in json.dumps(events)  # the audit names the decision, never the data


async def test_a_job_whose_lines_all_pass_leaves_no_policy_event(gateway):
    await restart_with(gateway, logs={"policy": "filtered"})
    name = unique_user("bob")
    async with gateway.client(gateway.hub.token_for(name)) as bob, \
            gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin:
        reply = await submit(bob, {"kind": "train", "entrypoint": "train.py", "gpus": 1})
        await wait_for_status(bob, reply.json()["id"], {"succeeded"})
        assert await policy_events(admin, name) == []


async def test_the_audit_command_lists_policy_events_by_kind(gateway):
    await restart_with(gateway, logs={"policy": "filtered"})
    name = unique_user("cy")
    async with gateway.client(gateway.hub.token_for(name)) as cy:
        reply = await submit(cy, {"kind": "train", "entrypoint": "train.py", "gpus": 1, "env": {"FAKE_PRINT": BLOB}})
        await wait_for_status(cy, reply.json()["id"], {"succeeded"})
    admin = gateway.hub.token_for(gateway.hub.ORGANISER)
    result = await asyncio.to_thread(CliRunner().invoke, app, [
        "audit", "list", "--gateway-url", gateway.url, "--token", admin, "--kind", "policy", "--user", name, "--json"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.output.splitlines() if line.strip()]
    assert sorted(e["detail"]["event"] for e in events) == ["first", "summary"]
    assert all(e["kind"] == "policy" for e in events)
