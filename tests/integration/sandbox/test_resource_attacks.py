"""Fork bombs, memory bombs, endless jobs, CPU hogs, disk fillers and leftover daemons are all contained."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from arenahub.gateway.executors import RunLimits
from arenahub.gateway.executors.local import LocalExecutor
from arenahub.gateway.limits import load_cgroup_layout

from .sandbox_helpers import QUICK_LIMITS, host_pids_of_uid, make_spec, sandbox_uid, write_code

pytestmark = pytest.mark.integration


def _limits(**changes: int) -> RunLimits:
    return RunLimits(**{**vars(QUICK_LIMITS), **changes})


def _host_cmdlines() -> list[bytes]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((entry / "cmdline").read_bytes())
            except OSError:
                pass
    return found


async def test_fork_bomb_hits_the_process_cap_and_the_job_still_ends(run_job):
    job = await run_job("""
        import os, time
        children, refused = 0, 0
        for _ in range(100):
            try:
                pid = os.fork()
            except OSError:
                refused += 1
                continue
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
        print("forked", children, "refused", refused)
    """, limits=_limits(max_procs=16))
    assert job.result.status == "succeeded", job.text
    forked, refused = int(job.stdout[0].split()[1]), int(job.stdout[0].split()[3])
    assert forked < 16 and refused > 0
    assert job.elapsed_s < 15 and job.host_pids_left == []


async def test_endless_fork_bomb_is_capped_while_it_runs_and_killed_at_the_time_limit(executor, tmp_path):
    code = write_code(tmp_path / "bomb", """
        import os
        while True:
            try:
                os.fork()
            except OSError:
                pass
    """)
    handle = await executor.start(make_spec(code, limits=_limits(max_procs=16, wall_s=3)))
    peak = 0
    while await executor.result(handle) is None:
        try:
            peak = max(peak, len(host_pids_of_uid(sandbox_uid(handle))))
        except (OSError, KeyError):
            pass
        await asyncio.sleep(0.2)
    result = await executor.result(handle)
    assert result.status == "timeout"
    assert 0 < peak <= 16
    assert host_pids_of_uid(sandbox_uid(handle)) == []


@pytest.mark.parametrize("use_cgroups", [True, False], ids=["cgroup", "rlimit"])
async def test_memory_bomb_is_stopped_at_the_memory_limit(run_job, state_dir, use_cgroups):
    if use_cgroups and load_cgroup_layout() is None:
        pytest.skip("this host offers no cgroup hierarchy with memory and pids controllers")
    on = LocalExecutor(state_dir, use_cgroups=use_cgroups, poll_interval_s=0.05)
    job = await run_job("""
        blocks = []
        for i in range(1, 64):
            blocks.append(bytearray(32 << 20))  # zero-filled: every page is touched
            print("held MiB", 32 * i)
    """, limits=_limits(mem_bytes=256 << 20), on=on)
    assert job.result.status == "failed", job.text
    held = [int(line.split()[-1]) for line in job.stdout if line.startswith("held MiB")]
    assert held and max(held) <= 256
    if use_cgroups:
        assert "Memory limit of 256 MiB reached" in job.result.reason
    else:
        assert "MemoryError" in job.text
    assert job.host_pids_left == []


async def test_job_sleeping_past_its_time_limit_ends_as_timeout_promptly(run_job):
    job = await run_job("""
        import time
        print("sleeping", flush=True)
        time.sleep(120)
        print("WOKE UP")
    """, limits=_limits(wall_s=2))
    assert job.result.status == "timeout"
    assert "Time limit of 2 s" in job.result.reason
    assert job.stdout == ["sleeping"]
    assert 2 <= job.elapsed_s < 5
    assert job.host_pids_left == []


async def test_background_processes_are_gone_once_the_job_ends(run_job):
    marker = f"{uuid.uuid4().int % 10**6}.25"
    job = await run_job(f"""
        import os, subprocess, time
        subprocess.run("nohup sleep {marker} > /dev/null 2>&1 &", shell=True)
        subprocess.Popen(["sleep", "{marker}"], start_new_session=True)
        if os.fork() == 0:  # classic daemon: fork, setsid, fork again, exit the middle one
            os.setsid()
            if os.fork() == 0:
                os.execvp("sleep", ["sleep", "{marker}"])
            os._exit(0)
        time.sleep(0.5)
        print("leftovers started", subprocess.run(["pgrep", "-c", "-f", "{marker}"], capture_output=True, text=True).stdout.strip())
    """)
    assert job.result.status == "succeeded", job.text
    assert job.stdout == ["leftovers started 3"]
    assert job.host_pids_left == []
    assert not [c for c in _host_cmdlines() if marker.encode() in c]


async def test_cpu_hog_is_stopped_at_the_cpu_time_limit(run_job):
    job = await run_job("""
        while True:
            pass
    """, limits=_limits(cpu_s=2, wall_s=20))
    assert job.result.status == "failed"
    assert "CPU-time limit of 2 s" in job.result.reason
    assert job.host_pids_left == []  # wall_s=20 was not reached: the status would be "timeout"


async def test_disk_filler_is_stopped_and_tmp_is_size_capped(run_job):
    job = await run_job("""
        import os, time
        try:
            for i in range(8):
                with open(f"/tmp/fill{i}", "wb") as f:
                    f.write(b"x" * (4 << 20))
            print("TMP FILLED")
        except OSError as exc:
            print("tmp refused", exc.errno)
        os.system("rm -f /tmp/fill*")
        try:
            with open("huge.bin", "wb") as f:
                f.write(b"x" * (32 << 20))
            print("BIG FILE WRITTEN")
        except OSError as exc:
            print("big file refused", exc.errno)
        for i in range(6):
            with open(f"part{i}.bin", "wb") as f:
                f.write(b"x" * (12 << 20))
        time.sleep(10)
        print("NOT STOPPED")
    """, limits=_limits(disk_bytes=16 << 20))
    assert job.stdout[:2] == ["tmp refused 28", "big file refused 27"]  # ENOSPC, EFBIG
    assert job.result.status == "failed"
    assert "Disk limit of 16 MiB" in job.result.reason
    assert "NOT STOPPED" not in job.text and job.host_pids_left == []
