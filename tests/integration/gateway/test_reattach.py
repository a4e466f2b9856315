"""A restarted gateway re-attaches to running jobs: no lost and no doubled lines, lost runs marked lost."""

import pytest
from sqlalchemy import create_engine, update

from arenahub.gateway.executors.base import RunHandle
from arenahub.gateway.models import Job
from arenahub.gateway.scheduler import sort_found_runs
from tests.integration.gateway.api_helpers import all_lines, submit, unique_user, wait_for_status

pytestmark = pytest.mark.integration


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


def forget_run_handle(database_url, job_id, **values):
    """Clear a job's run handle (and set ``values``), as if the gateway died inside executor.start."""
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(update(Job).where(Job.id == job_id).values(run_handle=None, **values))
    engine.dispose()


async def start_then_forget_its_handle(gateway):
    """A silent hanging job is running; the gateway stops and its handle is cleared, as if the
    gateway died inside executor.start. Returns (token, job)."""
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py",
                                     "env": {"FAKE_LINES": "0", "FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
    await gateway.served[-1].stop()
    forget_run_handle(gateway.database_url, job["id"])
    return token, job


async def test_a_job_whose_run_never_began_is_marked_lost_after_restart(gateway):
    token, job = await start_then_forget_its_handle(gateway)
    del gateway.executor.runs[job["id"]]  # the gateway died before the executor started anything
    await gateway.start()
    async with gateway.client(token) as client:
        done = await wait_for_status(client, job["id"], {"lost"})
    assert "while starting" in done["reason"]


async def test_a_run_started_but_never_recorded_is_adopted_and_logged_once(gateway):
    token, job = await start_then_forget_its_handle(gateway)
    for n in range(3):  # printed while the run was unrecorded
        gateway.executor.emit(job["id"], f"line {n}")
    await gateway.start()
    gateway.executor.emit(job["id"], "line 3")
    gateway.executor.finish(job["id"], "succeeded", 0)
    async with gateway.client(token) as client:
        await wait_for_status(client, job["id"], {"succeeded"})
        lines = await all_lines(client, job["id"])
    assert [l["text"] for l in lines] == [f"line {n}" for n in range(4)]
    assert gateway.executor.cancelled == []


async def test_a_run_whose_job_already_finished_is_stopped_as_an_orphan(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        job = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, job["id"], {"running"})
    await gateway.served[-1].stop()
    forget_run_handle(gateway.database_url, job["id"], status="lost", finished_at=1.0)  # an older gateway gave up
    await gateway.start()
    run = gateway.executor.runs[job["id"]]
    assert gateway.executor.cancelled == [job["id"]]
    assert run.result.status == "cancelled"
    assert "orphan" in run.result.reason


async def test_runs_that_ended_and_runs_of_followed_jobs_are_left_alone(gateway):
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:
        ended = (await submit(client, {"kind": "train", "entrypoint": "train.py"})).json()
        hanging = (await submit(client, {"kind": "train", "entrypoint": "train.py", "env": {"FAKE_END": "hang"}})).json()
        await wait_for_status(client, ended["id"], {"succeeded"})
        await wait_for_status(client, hanging["id"], {"running"})
    await gateway.served[-1].stop()
    await gateway.start()
    assert gateway.executor.cancelled == []
    assert gateway.executor.runs[hanging["id"]].result is None


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


def test_found_runs_are_sorted_into_runs_to_adopt_and_strays():
    def run(job_id, place="a"):
        return RunHandle(job_id=job_id, run_dir=f"/runs/{place}/{job_id}", supervisor_pid=0, started_at=0.0)

    found = [run("claimed"), run("claimed", "b"), run("followed"), run("finished"), run("unknown")]
    sorted_runs = sort_found_runs(found, {"claimed": None, "followed": run("followed").to_json(), "other": None})
    assert sorted_runs.adopt == (run("claimed"),)
    assert sorted_runs.strays == (run("claimed", "b"), run("finished"), run("unknown"))
