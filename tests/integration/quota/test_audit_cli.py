"""``arenahub audit list`` against a real gateway: filters by user and kind, refuses participants."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app
from tests.integration.gateway.api_helpers import submit, unique_user
from tests.integration.quota.test_quota_api import restart_with

pytestmark = pytest.mark.integration


async def invoke(*args: str):
    return await asyncio.to_thread(CliRunner().invoke, app, list(args))


async def test_the_audit_command_lists_and_filters_events_for_admins_only(gateway):
    await restart_with(gateway, quota={"limits": {"gpu_hours": 0.5, "max_concurrent_gpus": 1}})
    name = unique_user("ada")
    user_token = gateway.hub.token_for(name)
    async with gateway.client(user_token) as ada:
        assert (await submit(ada, {"kind": "train", "entrypoint": "train.py", "gpus": 2})).status_code == 429
    admin = gateway.hub.token_for(gateway.hub.ORGANISER)
    table = await invoke("audit", "list", "--gateway-url", gateway.url, "--token", admin, "--user", name)
    lines = await invoke("audit", "list", "--gateway-url", gateway.url, "--token", admin, "--user", name,
                         "--kind", "quota-refused", "--since", "1h", "--json")
    refused = await invoke("audit", "list", "--gateway-url", gateway.url, "--token", user_token)
    assert table.exit_code == 0, table.output
    assert "quota-refused" in table.output and name in table.output
    events = [json.loads(line) for line in lines.output.splitlines() if line.strip()]
    assert [e["detail"]["reason"] for e in events] == ["quota-concurrent-gpus"]
    assert refused.exit_code == 1 and "403" in refused.output and "read-all" in refused.output
