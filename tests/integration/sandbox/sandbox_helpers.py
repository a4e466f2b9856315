"""Helpers for the sandbox attack tests: the quick limits, code folders, specs, host process scans."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from arenahub.core.bwrap import SandboxSpec, build_bwrap_argv, make_system_mounts
from arenahub.gateway.executors import LogRecord, Mount, RunHandle, RunLimits, RunResult, RunSpec
from arenahub.core.host import read_system_layout

QUICK_LIMITS = RunLimits(wall_s=30, mem_bytes=512 << 20, cpu_s=30, max_procs=32, disk_bytes=64 << 20)


def probe_sandbox() -> str | None:
    """Why sandboxes cannot run on this machine, or None when they can."""
    if os.geteuid() != 0:
        return "the local sandbox needs root (bwrap without setuid must create namespaces; setpriv drops to a job uid)"
    for tool in ("/usr/bin/bwrap", "/usr/bin/setpriv"):
        if not os.access(tool, os.X_OK):
            return f"{tool} is not installed"
    binds, links = make_system_mounts(read_system_layout(), ())
    argv = build_bwrap_argv(SandboxSpec(argv=("/usr/bin/true",), binds=binds, symlinks=links))
    probe = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"bwrap cannot create namespaces on this machine: {probe.stderr.strip()}"
    return None


@dataclass
class FinishedJob:
    """A job that ran to its end: its handle, every log record, its result and its sandbox uid."""

    handle: RunHandle
    records: list[LogRecord]
    result: RunResult
    uid: int
    elapsed_s: float = 0.0
    host_pids_left: list[int] = field(default_factory=list)

    @property
    def stdout(self) -> list[str]:
        return [r.text for r in self.records if r.stream == "stdout"]

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.records)


def write_code(folder: Path, source: str) -> Path:
    """A code snapshot folder holding main.py with ``source``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text(textwrap.dedent(source))
    return folder


def make_spec(code_dir: Path, *, limits: RunLimits = QUICK_LIMITS, mounts: list[Mount] | None = None,
              env: dict[str, str] | None = None) -> RunSpec:
    return RunSpec(
        job_id=f"t-{uuid.uuid4().hex[:12]}",
        user="alice",
        code_dir=code_dir,
        argv=["python", "main.py"],
        mounts=mounts or [],
        gpus=[],
        limits=limits,
        env=env or {},
    )


def sandbox_uid(handle: RunHandle) -> int:
    return int(json.loads((Path(handle.run_dir) / "supervisor.json").read_text())["uid"])


def host_pids_of_uid(uid: int) -> list[int]:
    """Host processes (zombies excluded) whose real uid is ``uid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["Uid"].split()[0]) == uid and not fields["State"].strip().startswith("Z"):
            found.append(int(entry.name))
    return found
