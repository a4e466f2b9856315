"""No secret of the gateway reaches a job: environment built from scratch, no keyrings, no privileges."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from .sandbox_helpers import make_spec, write_code

pytestmark = pytest.mark.integration


@pytest.fixture
def canary(monkeypatch) -> str:
    """A secret in the environment of the process that runs the executor (like the gateway's token)."""
    value = f"canary-{uuid.uuid4().hex}"
    monkeypatch.setenv("ARENAHUB_CANARY_SECRET", value)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", value)
    return value


async def test_no_process_in_the_sandbox_can_read_the_gateways_environment(canary, run_job):
    job = await run_job(f"""
        import os
        seen = []
        if "{canary[:7]}" + "{canary[7:]}" in repr(dict(os.environ)):
            seen.append("os.environ")
        for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
            for name in ("environ", "cmdline"):
                try:
                    data = open(f"/proc/{{pid}}/{{name}}", "rb").read()
                except OSError as exc:
                    print("unreadable", pid, name, exc.errno)
                    continue
                if ("{canary[:7]}" + "{canary[7:]}").encode() in data:
                    seen.append(f"/proc/{{pid}}/{{name}}")
        print("secret seen in", seen)
        print("variables", sorted(os.environ))
    """)
    assert job.result.status == "succeeded", job.text
    assert job.stdout[-2] == "secret seen in []"
    assert "unreadable 1 environ 13" in job.stdout  # pid 1 (bwrap's reaper) is root's, not the job's
    assert "ARENAHUB_CANARY_SECRET" not in job.stdout[-1] and "JUPYTERHUB_API_TOKEN" not in job.stdout[-1]
    assert canary not in job.text


async def test_supervisor_and_sandbox_init_carry_no_secret_in_their_environment(canary, executor, tmp_path):
    code = write_code(tmp_path / "sleeper", "import time; print('up', flush=True); time.sleep(30)")
    handle = await executor.start(make_spec(code))
    try:
        async for record in executor.read_logs(handle):
            if record.text == "up":
                break
        tree, queue = [], [handle.supervisor_pid]
        while queue:  # the supervisor, bwrap, the sandbox's pid 1 and the job, as seen from the host
            pid = queue.pop()
            tree.append(pid)
            for task in Path(f"/proc/{pid}/task").iterdir():
                queue += [int(c) for c in (task / "children").read_text().split()]
        assert len(tree) >= 4
        for pid in tree:
            assert canary.encode() not in Path(f"/proc/{pid}/environ").read_bytes(), f"pid {pid}"
    finally:
        await executor.cancel(handle)


async def test_job_runs_unprivileged_without_keyrings(run_job):
    job = await run_job("""
        import ctypes, os
        status = dict(l.split(":", 1) for l in open("/proc/self/status"))
        print("uid", os.getuid(), os.geteuid(), "groups", os.getgroups())
        print("caps", status["CapEff"].strip(), status["CapBnd"].strip(), "nnp", status["NoNewPrivs"].strip())
        libc = ctypes.CDLL(None, use_errno=True)
        # keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0); add_key("user", "k", "v", 1, session)
        rc = libc.syscall(250, 0, -3, 0)
        print("keyctl", rc, ctypes.get_errno())
        rc = libc.syscall(248, b"user", b"k", b"v", 1, -3)
        print("add_key", rc, ctypes.get_errno())
        try:
            os.setuid(0)
            print("BECAME ROOT")
        except PermissionError:
            print("setuid refused")
    """)
    assert job.result.status == "succeeded", job.text
    assert job.stdout[0] == f"uid {job.uid} {job.uid} groups []"
    assert job.stdout[1] == "caps 0000000000000000 0000000000000000 nnp 1"
    assert job.stdout[2:] == ["keyctl -1 1", "add_key -1 1", "setuid refused"]


async def test_extra_environment_reaches_the_job_and_reserved_names_are_refused(run_job, executor, tmp_path):
    job = await run_job("import os; print(os.environ['EPOCHS'], os.environ['DASHES'], os.environ['CUDA_VISIBLE_DEVICES'] or '-')",
                        env={"EPOCHS": "3", "DASHES": "--"})
    assert job.stdout == ["3 -- -"]
    code = write_code(tmp_path / "x", "print(1)")
    with pytest.raises(ValueError, match="CUDA_VISIBLE_DEVICES is set by the executor"):
        await executor.start(make_spec(code, env={"CUDA_VISIBLE_DEVICES": "0,1,2,3"}))
    await asyncio.sleep(0)

