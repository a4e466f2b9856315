"""With the real LocalExecutor, a restarted gateway adopts a run it started but never recorded, and stops orphans."""

import asyncio
import os
import shutil
import time

import pytest
from sqlalchemy import create_engine, select, update

from arenahub.gateway.executors.base import RunHandle
from arenahub.gateway.models import Job
from arenahub.gateway.runspecs import build_run_spec, code_dir_of
from arenahub.gateway.specs import JobSpec
from tests.integration.gateway.api_helpers import all_lines, submit, unique_user, wait_for_status
from tests.integration.gateway.archives import make_archive

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0 or shutil.which("bwrap") is None,
                       reason="the LocalExecutor needs root and bubblewrap (make test-deps installs it)"),
]

COUNT = """
import time
for n in range(30):
    print(f"line {n}", flush=True)
    time.sleep(0.1)
"""
SLEEP = "import time\nprint('orphan up', flush=True)\ntime.sleep(120)\n"


def claim_without_handle(database_url: str, job_id: str) -> tuple[str, dict]:
    """Clear the job's run handle (the gateway died inside executor.start); returns its user and spec."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == job_id).values(run_handle=None))
            user, spec = conn.execute(select(Job.user, Job.spec).where(Job.id == job_id)).one()
    finally:
        engine.dispose()
    return user, spec


def stored_handle(database_url: str, job_id: str) -> RunHandle:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return RunHandle.from_json(conn.execute(select(Job.run_handle).where(Job.id == job_id)).scalar_one())
    finally:
        engine.dispose()


async def wait_until_ended(executor, handle: RunHandle, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while (result := await executor.result(handle)) is None:
        assert time.monotonic() < deadline, f"run {handle.run_dir} still runs after {timeout_s} s"
        await asyncio.sleep(0.1)
    return result


async def test_a_sandboxed_run_started_but_never_recorded_is_adopted_and_an_orphan_is_stopped(gateway, tmp_path):
    from arenahub.gateway.executors.local import LocalExecutor, supervisor_alive

    settings = gateway.settings()
    token = gateway.hub.token_for(unique_user("ada"))
    async with gateway.client(token) as client:  # the fake executor only gets the job claimed
        job = (await submit(client, {"kind": "train", "entrypoint": "count.py",
                                     "env": {"FAKE_LINES": "0", "FAKE_END": "hang"}},
                            code=make_archive({"count.py": COUNT}))).json()
        await wait_for_status(client, job["id"], {"running"})
    await gateway.served[-1].stop()
    user, spec = claim_without_handle(gateway.database_url, job["id"])

    # What the dead gateway had done: its run started in the sandbox, the handle never saved.
    executor = LocalExecutor(gateway.state_dir, poll_interval_s=0.05)
    adopted = await executor.start(build_run_spec(
        job_id=job["id"], user=user, spec=JobSpec.model_validate(spec),
        code_dir=code_dir_of(gateway.state_dir, job["id"]), gpus=[], dataset_path=None, run=settings.run))
    orphan_code = tmp_path / "orphan"
    orphan_code.mkdir()
    (orphan_code / "sleep.py").write_text(SLEEP)
    orphan = await executor.start(build_run_spec(
        job_id=f"orphan-{os.urandom(3).hex()}", user=user,
        spec=JobSpec.model_validate({"kind": "train", "entrypoint": "sleep.py", "time_limit_s": 120}),
        code_dir=orphan_code, gpus=[], dataset_path=None, run=settings.run))
    assert supervisor_alive(orphan)

    try:
        await gateway.start(executor=LocalExecutor(gateway.state_dir, poll_interval_s=0.05))
        stopped = await wait_until_ended(executor, orphan)
        async with gateway.client(token) as client:
            done = await wait_for_status(client, job["id"], {"succeeded", "failed", "lost"}, timeout_s=60)
            lines = await all_lines(client, job["id"])
        stdout = [line["text"] for line in lines if line["stream"] == "stdout"]
        assert done["status"] == "succeeded", (done, lines)
        assert stdout == [f"line {n}" for n in range(30)]
        assert [line["seq"] for line in lines] == list(range(len(lines)))
        assert stopped.status == "cancelled" and "orphan" in stopped.reason
        assert not supervisor_alive(orphan)
        stored = stored_handle(gateway.database_url, job["id"])  # with the live supervisor's pid, found in /proc
        assert (stored.run_dir, stored.supervisor_pid) == (adopted.run_dir, adopted.supervisor_pid)
    finally:  # a failed test leaves no sandbox behind
        for handle in (adopted, orphan):
            await executor.cancel(handle)
