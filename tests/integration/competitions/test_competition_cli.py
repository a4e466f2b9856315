"""``arenahub competition create|list|close`` run for real (typer's CliRunner) against a served gateway."""

from __future__ import annotations

import asyncio
import os
import shutil

import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app
from arenahub.demo import install
from tests.integration.competitions.test_reruns import PREDICT
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import make_archive

pytestmark = pytest.mark.integration


async def cli(gateway, token, *args: str):
    """Run ``arenahub competition ARGS`` against the gateway in a worker thread (the gateway serves in this loop)."""
    argv = ["competition", *args, "--gateway-url", gateway.url, "--token", token]
    return await asyncio.to_thread(CliRunner().invoke, app, argv)


async def competitions_and_admin_events(gateway, admin_token):
    async with gateway.client(admin_token) as admin:
        found = (await admin.get("/competitions")).json()["competitions"]
        events = (await admin.get("/audit", params={"kind": "admin"})).json()["events"]
    return [c["id"] for c in found], len(events)


@pytest.fixture
async def local_gateway(gateway):
    """The gateway with the bubblewrap LocalExecutor, so a test job really runs and is scored."""
    if os.geteuid() != 0 or shutil.which("bwrap") is None:
        pytest.skip("the LocalExecutor needs root and bubblewrap (make test-deps installs it)")
    from arenahub.gateway.executors.local import LocalExecutor

    await gateway.served[-1].stop()
    await gateway.start(executor=LocalExecutor(gateway.state_dir))
    return gateway


async def test_create_list_and_close_the_demo_competition_and_close_reveals_private_scores(local_gateway, tmp_path):
    gateway = local_gateway
    demo = install(tmp_path / "demo")
    admin_token = gateway.hub.token_for(gateway.hub.ORGANISER)
    ada_name = unique_user("ada")

    created = await cli(gateway, admin_token, "create", str(demo.yaml_path))
    assert created.exit_code == 0, created.output
    assert "Created competition 'demo'" in created.output and "state open" in created.output
    async with gateway.client(admin_token) as admin:
        events = (await admin.get("/audit", params={"kind": "admin"})).json()["events"]
    assert [(e["subject"], e["detail"].get("log_policy")) for e in events if "created" in e["message"]] == [
        ("demo", "filtered")]  # the audit records the competition's log policy as it was set
    listed = await cli(gateway, admin_token, "list")
    assert listed.exit_code == 0, listed.output
    row = next(line for line in listed.output.splitlines() if " demo " in line)
    assert "open" in row and "demo-points" in row

    async with gateway.client(gateway.hub.token_for(ada_name)) as ada:
        job = (await submit(ada, {"kind": "test", "entrypoint": "predict.py", "dataset": "demo-points"},
                            code=make_archive({"predict.py": PREDICT}))).json()
        assert (await wait_for_status(ada, job["id"], {"succeeded", "failed"}, timeout_s=90))["status"] == "succeeded"
        for _ in range(300):
            if (await ada.get(f"/jobs/{job['id']}/score")).json()["status"] == "scored":
                break
            await asyncio.sleep(0.1)
        before = (await ada.get("/leaderboard", params={"competition": "demo"})).json()
        hidden = (await ada.get(f"/jobs/{job['id']}/score")).json()

        closed = await cli(gateway, admin_token, "close", "demo")

        after = (await ada.get("/leaderboard", params={"competition": "demo"})).json()
        revealed = (await ada.get(f"/jobs/{job['id']}/score")).json()
    assert closed.exit_code == 0, closed.output
    assert "Closed competition 'demo'" in closed.output
    assert before["split"] == "public" and "private_score" not in hidden
    assert after["state"] == "closed" and after["split"] == "private"
    assert revealed["private_score"] is not None and 0 < revealed["private_score"] < 1
    assert next(r for r in after["rows"] if r["user"] == ada_name)["score"] == pytest.approx(revealed["private_score"])
    relisted = await cli(gateway, admin_token, "list")
    assert "closed" in next(line for line in relisted.output.splitlines() if " demo " in line)
    again = await cli(gateway, admin_token, "close", "demo")
    assert again.exit_code == 1 and "409" in again.output and "closed already" in again.output


async def test_a_bad_competition_file_gives_line_numbered_errors_exit_2_and_changes_nothing(gateway, tmp_path):
    demo = install(tmp_path / "demo")
    admin_token = gateway.hub.token_for(gateway.hub.ORGANISER)
    lines = demo.yaml_text.splitlines()
    at = lines.index("  gpu_hours: 10") + 1
    lines[at - 1] = "  gpu_hours: -3"
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines) + "\n")
    before = await competitions_and_admin_events(gateway, admin_token)

    result = await cli(gateway, admin_token, "create", str(bad))

    assert result.exit_code == 2, result.output
    assert f"{bad}:{at}: quotas.gpu_hours:" in result.output.replace("\n", "") and "Nothing was created" in result.output
    assert await competitions_and_admin_events(gateway, admin_token) == before == ([], 0)


async def test_a_participant_token_is_refused_clearly_and_nothing_is_created(gateway, tmp_path):
    demo = install(tmp_path / "demo")
    participant = gateway.hub.token_for(unique_user("ada"))
    created = await cli(gateway, participant, "create", str(demo.yaml_path))
    closed = await cli(gateway, participant, "close", "demo")
    assert created.exit_code == closed.exit_code == 1
    for result in (created, closed):
        assert "The gateway refused (403)" in result.output and "organisers and admins" in result.output
    admin_token = gateway.hub.token_for(gateway.hub.ORGANISER)
    assert await competitions_and_admin_events(gateway, admin_token) == ([], 0)
    missing = await cli(gateway, "", "list")
    assert missing.exit_code == 1 and "No admin token" in missing.output
