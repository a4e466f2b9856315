"""Fixtures for the sandbox attack tests: a probe that skips where bwrap cannot work, and a job runner."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from arenahub.gateway.executors import Mount, RunLimits
from arenahub.gateway.executors.local import LocalExecutor

from .sandbox_helpers import QUICK_LIMITS, FinishedJob, host_pids_of_uid, make_spec, probe_sandbox, sandbox_uid, write_code


@pytest.fixture(scope="session")
def sandbox_host() -> None:
    """Skip (with the reason) where the sandbox cannot work; probed once per session."""
    reason = probe_sandbox()
    if reason:
        pytest.skip(reason)


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "gateway-state"


@pytest.fixture
def executor(sandbox_host: None, state_dir: Path) -> LocalExecutor:
    return LocalExecutor(state_dir, poll_interval_s=0.05)


RunJob = Callable[..., Awaitable[FinishedJob]]


@pytest.fixture
def run_job(executor: LocalExecutor, tmp_path: Path) -> RunJob:
    """Run ``source`` as main.py of a real sandboxed job to its end."""
    async def run(source: str, *, limits: RunLimits = QUICK_LIMITS, mounts: list[Mount] | None = None,
                  env: dict[str, str] | None = None, on: LocalExecutor | None = None) -> FinishedJob:
        code = write_code(tmp_path / f"code-{uuid.uuid4().hex[:8]}", source)
        started = time.monotonic()
        ex = on or executor
        handle = await ex.start(make_spec(code, limits=limits, mounts=mounts, env=env))
        records = [r async for r in ex.read_logs(handle)]
        result = await ex.result(handle)
        assert result is not None
        uid = sandbox_uid(handle)
        return FinishedJob(handle, records, result, uid, time.monotonic() - started, host_pids_of_uid(uid))

    return run
