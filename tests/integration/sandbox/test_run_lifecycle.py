"""Runs outlive the process that started them, are re-attached without gaps or duplicates, and end cleanly."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from arenahub.gateway.executors import Mount, RunHandle
from arenahub.gateway.executors.local import LocalExecutor
from arenahub.gateway.executors.local import supervisor_alive

from .sandbox_helpers import host_pids_of_uid, make_spec, sandbox_uid, write_code

pytestmark = pytest.mark.integration

NUMBERED = """
    import sys, time
    for i in range(40):
        print(f"line {i}", flush=True)
        time.sleep(0.1)
"""

STARTER = """
    import asyncio, sys, time
    from pathlib import Path
    from arenahub.gateway.executors import RunLimits, RunSpec
    from arenahub.gateway.executors.local import LocalExecutor

    async def main():
        executor = LocalExecutor(Path(sys.argv[1]))
        spec = RunSpec(job_id="restart-me", user="alice", code_dir=Path(sys.argv[2]), argv=["python", "main.py"],
                       mounts=[], gpus=[], limits=RunLimits(30, 512 << 20, 30, 32, 64 << 20), env={})
        handle = await executor.start(spec)
        print(handle.to_json(), flush=True)
        time.sleep(600)

    asyncio.run(main())
"""


async def _collect(executor: LocalExecutor, handle: RunHandle, offset: int = 0, stop_after_seq: int | None = None):
    records = []
    async for record in executor.read_logs(handle, offset):
        records.append(record)
        if stop_after_seq is not None and record.seq >= stop_after_seq:
            break
    return records


async def test_run_survives_the_death_of_its_starter_and_is_reattached_with_every_line_once(state_dir, tmp_path,
                                                                                           sandbox_host):
    code = write_code(tmp_path / "numbered", NUMBERED)
    starter = subprocess.Popen([sys.executable, "-c", textwrap.dedent(STARTER), str(state_dir), str(code)],
                               stdout=subprocess.PIPE, text=True)
    handle = RunHandle.from_json(starter.stdout.readline())
    starter.send_signal(signal.SIGKILL)  # the "gateway" dies without any cleanup
    starter.wait()
    starter.stdout.close()
    assert supervisor_alive(handle)

    first = await _collect(LocalExecutor(state_dir, poll_interval_s=0.05), handle, stop_after_seq=10)
    assert supervisor_alive(handle)
    # A second restart resumes from the offset the first one "committed", while the job still prints.
    second_executor = LocalExecutor(state_dir, poll_interval_s=0.05)
    assert await second_executor.result(handle) is None
    rest = await _collect(second_executor, handle, offset=first[-1].offset)

    records = first + rest
    assert [r.seq for r in records] == list(range(len(records)))
    lines = [r.text for r in records if r.stream == "stdout"]
    assert lines == [f"line {i}" for i in range(40)]
    result = await second_executor.result(handle)
    assert result.status == "succeeded" and result.exit_code == 0


async def test_reading_from_a_stored_offset_returns_exactly_the_records_after_it(run_job, executor):
    job = await run_job("for i in range(5): print(i)")
    middle = job.records[2]
    again = await _collect(executor, job.handle, offset=middle.offset)
    assert again == job.records[3:]
    assert await _collect(executor, job.handle, offset=job.records[-1].offset) == []


async def test_a_run_whose_supervisor_is_killed_is_reported_lost_and_leaves_nothing_behind(executor, tmp_path):
    code = write_code(tmp_path / "sleeper", "import time; print('up', flush=True); time.sleep(60)")
    handle = await executor.start(make_spec(code))
    assert (await _collect(executor, handle, stop_after_seq=1))[-1].text == "up"
    uid = sandbox_uid(handle)
    assert host_pids_of_uid(uid)
    os.kill(handle.supervisor_pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while supervisor_alive(handle) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    result = await executor.result(handle)
    assert result.status == "lost"
    assert f"pid {handle.supervisor_pid}" in result.reason and "gone without a result" in result.reason
    deadline = time.monotonic() + 5
    while host_pids_of_uid(uid) and time.monotonic() < deadline:  # bwrap --die-with-parent takes the job down
        await asyncio.sleep(0.05)
    assert host_pids_of_uid(uid) == []
    assert [r.text for r in await _collect(executor, handle)][-1] == "up"  # the log ends instead of hanging
    assert (await LocalExecutor(executor.state_dir).result(handle)).status == "lost"


async def test_cancel_stops_the_job_and_all_its_processes(executor, tmp_path):
    code = write_code(tmp_path / "worker", """
        import subprocess, time
        subprocess.Popen(["sleep", "300"], start_new_session=True)
        print("working", flush=True)
        time.sleep(300)
    """)
    handle = await executor.start(make_spec(code))
    assert (await _collect(executor, handle, stop_after_seq=1))[-1].text == "working"
    uid = sandbox_uid(handle)
    started = time.monotonic()
    await executor.cancel(handle)
    result = await executor.result(handle)
    assert result.status == "cancelled" and result.reason == "cancelled on request"
    assert time.monotonic() - started < 3
    assert host_pids_of_uid(uid) == []
    records = await _collect(executor, handle)
    assert records[-1].stream == "system" and "cancelled" in records[-1].text
    await executor.cancel(handle)  # cancelling a finished run changes nothing
    assert (await executor.result(handle)).status == "cancelled"


async def test_failing_job_reports_its_exit_code_and_keeps_stderr_and_long_lines(run_job):
    job = await run_job("""
        import sys
        print("x" * 100_000)
        print("ü" * 40_000)
        print("boom", file=sys.stderr)
        sys.exit(3)
    """)
    assert job.result.status == "failed" and job.result.exit_code == 3
    assert job.result.reason == "The job exited with code 3."
    stdout = job.stdout
    assert [len(t) for t in stdout[:2]] == [65536, 100_000 - 65536]
    assert "".join(stdout[2:]) == "ü" * 40_000 and all(len(t.encode()) <= 65536 for t in stdout[2:])
    assert [r.text for r in job.records if r.stream == "stderr"] == ["boom"]
    stored = (Path(job.handle.run_dir) / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["seq"] for line in stored] == list(range(len(job.records)))


async def test_start_refuses_bad_specs_with_a_reason(executor, tmp_path):
    code = write_code(tmp_path / "ok", "print(1)")
    spec = make_spec(code)
    await executor.start(spec)
    with pytest.raises(ValueError, match="already exists"):
        await executor.start(spec)
    with pytest.raises(ValueError, match="not a folder"):
        await executor.start(make_spec(tmp_path / "missing"))
    with pytest.raises(ValueError, match="overlaps the sandbox folder /workspace"):
        await executor.start(make_spec(code, mounts=[Mount(tmp_path, "/workspace/data")]))
    with pytest.raises(ValueError, match="does not exist on this host"):
        await executor.start(make_spec(code, mounts=[Mount(tmp_path / "nope", "/data")]))
