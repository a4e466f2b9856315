"""Reproducibility: a job's code snapshot can be fetched by hash, and an admin's re-run reproduces its score."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tarfile

import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app
from arenahub.demo import install
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import TRAIN_PY, make_archive

pytestmark = pytest.mark.integration

needs_sandbox = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                                   reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)")

PREDICT = """
import json, os, pathlib
inputs = pathlib.Path(os.environ["ARENAHUB_DATA_DIR"]) / "test" / "inputs"
out = pathlib.Path(os.environ["ARENAHUB_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
for path in sorted(inputs.glob("*.json")):
    points = json.loads(path.read_text())["points"]
    (out / path.name).write_text(json.dumps({"label": "cat", "count": len(points) - (int(path.stem) % 3 == 0)}))
print("wrote outputs")
"""


@pytest.fixture
async def local_gateway(gateway):
    """The gateway with the bubblewrap LocalExecutor, so test jobs really run and are scored."""
    from arenahub.gateway.executors.local import LocalExecutor

    await gateway.served[-1].stop()
    await gateway.start(executor=LocalExecutor(gateway.state_dir))
    return gateway


async def test_the_snapshot_is_served_to_its_owner_and_admins_with_its_hash_and_to_nobody_else(gateway):
    code = make_archive({"train.py": TRAIN_PY, "lib/util.py": "X = 1\n"})
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada, \
            gateway.client(gateway.hub.token_for(unique_user("eve"))) as eve, \
            gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin:
        job = (await submit(ada, {"kind": "train", "entrypoint": "train.py"}, code=code)).json()
        await wait_for_status(ada, job["id"], {"succeeded"})
        own = await ada.get(f"/jobs/{job['id']}/snapshot")
        by_admin = await admin.get(f"/jobs/{job['id']}/snapshot")
        other = await eve.get(f"/jobs/{job['id']}/snapshot")
        missing = await admin.get("/jobs/0000000000000000/snapshot")
        refused_rerun = await ada.post(f"/jobs/{job['id']}/rerun")
    assert own.status_code == by_admin.status_code == 200
    assert own.content == by_admin.content == code  # the upload, byte for byte
    assert own.headers["X-Arenahub-Snapshot-Sha256"] == job["code_sha256"] == hashlib.sha256(code).hexdigest()
    assert own.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(own.content)) as archive:
        assert sorted(archive.getnames()) == ["lib/util.py", "train.py"]
    assert other.status_code == 404 and other.json()["error"] == "job-not-found"
    assert missing.status_code == 404
    assert refused_rerun.status_code == 403 and refused_rerun.json()["error"] == "admin-only"
    assert gateway.stored_jobs() == 1


async def test_a_snapshot_changed_on_disk_is_refused_instead_of_served(gateway):
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada, \
            gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin:
        job = (await submit(ada, {"kind": "train", "entrypoint": "train.py"})).json()
        path = gateway.state_dir / "jobs" / job["id"] / "code.tar.gz"
        path.chmod(0o644)
        path.write_bytes(make_archive({"train.py": "print('swapped')\n"}))
        served = await ada.get(f"/jobs/{job['id']}/snapshot")
        rerun = await admin.post(f"/jobs/{job['id']}/rerun")
    assert served.status_code == rerun.status_code == 409
    assert served.json()["error"] == "snapshot-altered" and job["code_sha256"] in served.json()["message"]
    assert gateway.stored_jobs() == 1


@needs_sandbox
async def test_an_admins_rerun_of_a_scored_test_job_gives_the_same_score_and_hash(local_gateway, tmp_path):
    gateway = local_gateway
    demo = install(tmp_path / "demo")
    ada_name = unique_user("ada")
    admin_token = gateway.hub.token_for(gateway.hub.ORGANISER)
    async with gateway.client(admin_token) as admin, gateway.client(gateway.hub.token_for(ada_name)) as ada:
        assert (await admin.post("/competitions", json={"source": demo.yaml_text})).status_code == 201
        job = (await submit(ada, {"kind": "test", "entrypoint": "predict.py", "dataset": "demo-points"},
                            code=make_archive({"predict.py": PREDICT}))).json()
        assert (await wait_for_status(ada, job["id"], {"succeeded", "failed"}, timeout_s=90))["status"] == "succeeded"
        for _ in range(300):
            original = (await ada.get(f"/jobs/{job['id']}/score")).json()
            if original["status"] == "scored":
                break
            await asyncio.sleep(0.1)
        quota_before = (await ada.get("/quota")).json()

        result = await asyncio.to_thread(CliRunner().invoke, app, [
            "competition", "rerun", job["id"], "--gateway-url", gateway.url, "--token", admin_token, "--timeout", "120"])

        comparison = (await admin.get(f"/jobs/{job['id']}/reruns")).json()
        board = (await ada.get("/leaderboard")).json()
        quota_after = (await ada.get("/quota")).json()
        listed_for_ada = (await ada.get("/jobs")).json()["jobs"]
    assert result.exit_code == 0, result.output
    assert "reproduced" in result.output and job["id"] in result.output
    again = comparison["reruns"][0]
    first = comparison["original"]
    assert len(comparison["reruns"]) == 1 and again["rerun_of"] == job["id"] and again["user"] == gateway.hub.ORGANISER
    assert again["code_sha256"] == first["code_sha256"] == job["code_sha256"]
    assert (again["public_score"], again["private_score"]) == (first["public_score"], first["private_score"])
    assert first["public_score"] == pytest.approx(original["score"]) and 0 < first["public_score"] < 1
    assert again["score_status"] == "scored" and again["on_leaderboard"] is False
    assert [(r["user"], r["submissions"]) for r in board["rows"]] == [(ada_name, 1)]  # no new entry
    assert quota_after["submissions_today"] == quota_before["submissions_today"] == 1
    assert [j["id"] for j in listed_for_ada] == [job["id"]]


async def test_a_rerun_of_a_training_job_is_the_admins_job_and_the_cli_says_there_is_no_score(gateway):
    admin_token = gateway.hub.token_for(gateway.hub.ORGANISER)
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada, gateway.client(admin_token) as admin:
        job = (await submit(ada, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_LINES": "2"}})).json()
        await wait_for_status(ada, job["id"], {"succeeded"})
        result = await asyncio.to_thread(CliRunner().invoke, app, [
            "competition", "rerun", job["id"], "--gateway-url", gateway.url, "--token", admin_token, "--timeout", "60"])
        comparison = (await admin.get(f"/jobs/{job['id']}/reruns")).json()
        again = (await admin.get(f"/jobs/{comparison['reruns'][0]['job_id']}")).json()
        mine = (await ada.get("/jobs")).json()["jobs"]
    assert result.exit_code == 0, result.output
    assert "has no score to compare" in result.output and "ended succeeded" in result.output
    assert (again["rerun_of"], again["user"], again["spec"]) == (job["id"], gateway.hub.ORGANISER, job["spec"])
    assert again["code_sha256"] == job["code_sha256"] and again["status"] == "succeeded"
    assert [j["id"] for j in mine] == [job["id"]] and mine[0]["rerun_of"] is None
