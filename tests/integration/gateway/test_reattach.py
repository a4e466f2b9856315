"""A restarted gateway re-attaches to running jobs: no lost and no doubled lines, lost runs marked lost."""

import pytest
from sqlalchemy import create_engine, update

from arenahub.gateway.models import Job
from tests.integration.gateway.api_helpers import submit, unique_user, wait_for_status

pytestmark = pytest.mark.integration


async def all_lines(client, job_id):
    lines, after = [], -1
    while True:
        page = (await client.get(f"/jobs/{job_id}/logs", params={"format": "json", "after": after})).json()
        lines += page["lines"]
        after = page["next_after"]
        if page["finished"] or not page["lines"]:
            return lines


async def test_a_restarted_gateway_resumes_the_log_from_the_committed_offset(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py",
                                     "env": {"FAKE_LINES": "3", "FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
    await gateway.served[-1].stop()
    for n in range(3, 8):  # printed while no gateway follows the run
        gateway.executor.emit(job["id"], f"line {n}")
    await gateway.start()
    gateway.executor.emit(job["id"], "line 8")
    gateway.executor.finish(job["id"], "succeeded", 0)
    async with gateway.client(token) as client:
        await wait_for_status(client, job["id"], {"succeeded"})
        lines = await all_lines(client, job["id"])
    assert [l["text"] for l in lines] == [f"line {n}" for n in range(9)]
    assert [l["seq"] for l in lines] == list(range(9))


async def test_a_run_whose_supervisor_vanished_is_marked_lost_with_the_reason(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
    await gateway.served[-1].stop()
    gateway.executor.finish(job["id"], "lost", None, "The supervisor is gone without a result.")
    await gateway.start()
    async with gateway.client(token) as client:
        done = await wait_for_status(client, job["id"], {"lost"})
    assert done["reason"] == "The supervisor is gone without a result."


async def test_a_job_caught_between_placement_and_start_is_marked_lost(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
    await gateway.served[-1].stop()
    engine = create_engine(gateway.database_url)
    with engine.begin() as conn:  # as if the gateway died inside executor.start
        conn.execute(update(Job).where(Job.id == job["id"]).values(run_handle=None))
    engine.dispose()
    await gateway.start()
    async with gateway.client(token) as client:
        done = await wait_for_status(client, job["id"], {"lost"})
    assert "while starting" in done["reason"]


async def test_a_cancel_that_arrived_while_the_run_was_unfollowed_is_sent_after_restart(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
    await gateway.served[-1].stop()
    engine = create_engine(gateway.database_url)
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job["id"]).values(cancel_requested_at=1.0))
    engine.dispose()
    await gateway.start()
    async with gateway.client(token) as client:
        await wait_for_status(client, job["id"], {"cancelled"})
    assert gateway.executor.cancelled == [job["id"]]
