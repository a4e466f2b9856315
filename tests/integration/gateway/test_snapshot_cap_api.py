"""A gateway whose executor is a Kubernetes training cluster refuses code over its snapshot cap with 413 at submission and re-run, before anything is queued.

Real gateway, real hub, SQLite and PostgreSQL. The cap is read from the executor settings, so the
FakeExecutor stands in for the cluster: a refused job never reaches it.
"""

from __future__ import annotations

import os

import pytest

from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status
from tests.integration.gateway.archives import TRAIN_PY, make_archive

pytestmark = pytest.mark.integration

SPEC = {"kind": "train", "entrypoint": "train.py"}


async def _restart_on_kubernetes(gateway, cap: int):
    """The harness's gateway, started again as if its executor were the training cluster with ``cap``."""
    gateway.settings_overrides["executor"] = {
        "kind": "kubernetes", "kubernetes": {"image": "registry.example/job:1", "max_snapshot_bytes": cap}}
    await gateway.served[-1].stop()
    await gateway.start()
    return gateway


def weights(n: int) -> bytes:
    """A job folder archive of about ``n`` bytes (incompressible weights next to train.py)."""
    return make_archive({"train.py": TRAIN_PY, "weights.bin": os.urandom(n)})


async def test_code_under_the_upload_limit_but_over_the_clusters_cap_is_413_and_nothing_is_queued(gateway):
    ada_name = unique_user("ada")
    async with gateway.client(gateway.hub.token_for(ada_name)) as ada:
        local = await submit(ada, SPEC, code=weights(150_000))  # the local executor: only upload_max_bytes
        assert local.status_code == 201, local.text
        await wait_for_status(ada, local.json()["id"], {"succeeded"})
    await _restart_on_kubernetes(gateway, cap=100_000)
    jobs_before, folders_before = gateway.stored_jobs(), gateway.snapshot_folders()
    async with gateway.client(gateway.hub.token_for(ada_name)) as ada:
        refused = await submit(ada, SPEC, code=weights(150_000))
        fits = await submit(ada, SPEC, code=weights(50_000))
    assert refused.status_code == 413 and refused.json()["error"] == "snapshot-too-large"
    message = refused.json()["message"]
    assert "at most 97.7 KiB (100000 bytes" in message and "MAX_SNAPSHOT_BYTES" in message
    assert "checkpoints" in message and "dataset" in message
    assert fits.status_code == 201, fits.text
    assert gateway.stored_jobs() == jobs_before + 1
    assert gateway.snapshot_folders() == sorted([*folders_before, fits.json()["id"]])


async def test_a_rerun_of_code_over_a_since_lowered_cap_is_413_with_the_same_message(gateway):
    await _restart_on_kubernetes(gateway, cap=200_000)
    async with gateway.client(gateway.hub.token_for(unique_user("ada"))) as ada:
        job = (await submit(ada, SPEC, code=weights(150_000))).json()
        await wait_for_status(ada, job["id"], {"succeeded"})
    await _restart_on_kubernetes(gateway, cap=100_000)
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin:
        refused = await admin.post(f"/jobs/{job['id']}/rerun")
    assert refused.status_code == 413 and refused.json()["error"] == "snapshot-too-large"
    assert "at most 97.7 KiB" in refused.json()["message"]
    assert gateway.stored_jobs() == 1
    await _restart_on_kubernetes(gateway, cap=200_000)
    async with gateway.client(gateway.hub.token_for(gateway.hub.ORGANISER)) as admin:
        again = await admin.post(f"/jobs/{job['id']}/rerun")
    assert again.status_code == 201, again.text
