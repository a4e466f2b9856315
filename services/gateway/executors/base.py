"""The executor interface: what the gateway hands an executor and what it gets back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from arenahub.core.errors import ArenaError

RUN_STATUSES = ("succeeded", "failed", "cancelled", "timeout", "lost")
LOG_STREAMS = ("stdout", "stderr", "system")


@dataclass(frozen=True)
class Mount:
    """A host folder made visible inside the sandbox at ``target`` (read-only unless ``writable``)."""

    host: Path
    target: str
    writable: bool = False


@dataclass(frozen=True)
class RunLimits:
    """Resource limits of one run: wall-clock seconds, memory bytes, CPU seconds, processes, disk bytes."""

    wall_s: int
    mem_bytes: int
    cpu_s: int
    max_procs: int
    disk_bytes: int


@dataclass(frozen=True)
class RunSpec:
    """Everything an executor needs to start one sandboxed run."""

    job_id: str  # unique, safe for file names
    user: str
    code_dir: Path  # extracted code snapshot (the executor copies it into a writable work area)
    argv: list[str]  # command to run inside the sandbox, cwd = the code copy
    mounts: list[Mount]  # dataset parts, read-only; annotations are NEVER passed here
    gpus: list[int]  # physical GPU indices -> CUDA_VISIBLE_DEVICES
    limits: RunLimits
    env: dict[str, str] = field(default_factory=dict)  # extra variables, never secrets


@dataclass(frozen=True)
class RunHandle:
    """What the gateway stores in its database to find a run again after a restart."""

    job_id: str
    run_dir: str
    supervisor_pid: int
    started_at: float

    def to_json(self) -> str:
        """The handle as one JSON object (a string)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, s: str) -> RunHandle:
        """Parse a handle written by ``to_json``; raises ValueError on a malformed one."""
        try:
            data = json.loads(s)
            return cls(
                job_id=str(data["job_id"]),
                run_dir=str(data["run_dir"]),
                supervisor_pid=int(data["supervisor_pid"]),
                started_at=float(data["started_at"]),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"Not a stored run handle: {s[:200]!r} ({exc})") from exc


@dataclass(frozen=True)
class LogRecord:
    """One output line of a run, as stored in its ``log.jsonl``."""

    seq: int  # 0,1,2,... per run, no gaps
    offset: int  # byte offset just AFTER this record in the run's log file (resume point)
    ts: float
    stream: str  # "stdout" | "stderr" | "system"
    text: str  # one line without the newline (long lines are split at 64 KiB)


@dataclass(frozen=True)
class RunResult:
    """How a run ended."""

    status: str  # "succeeded" | "failed" | "cancelled" | "timeout" | "lost"
    exit_code: int | None
    reason: str
    finished_at: float


class OutputsUnavailable(ArenaError):
    """A finished run's outputs cannot be made available for scoring; ``message`` says why to the
    participant (no cluster details), ``log_detail`` to the operator."""

    status = 409


class Executor(Protocol):
    """Starts runs, streams their logs, reports and cancels them."""

    async def start(self, spec: RunSpec) -> RunHandle:
        """Start a run and return the handle to store."""
        ...

    def read_logs(self, handle: RunHandle, offset: int = 0) -> AsyncIterator[LogRecord]:
        """Yield records after byte ``offset``; follows the log until the run has finished and all is read."""
        ...

    async def result(self, handle: RunHandle) -> RunResult | None:
        """The result, None while running, status "lost" if the supervisor vanished without one."""
        ...

    async def find_runs(self, competitions: Iterable[str] = ()) -> list[RunHandle]:
        """Handles of the runs this executor can still see (running or ended, not yet cleaned away).

        A restarted gateway matches them to its database: it adopts the runs of jobs it claimed
        but never recorded a handle for, and stops runs no running job owns. ``competitions``
        are the competition ids whose run places to search (executors with one place ignore it).
        """
        ...

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        """Stop the run and every process it started; its status becomes "cancelled".

        ``reason`` (e.g. the quota notice) becomes the run's reason and its last log line;
        empty means "cancelled on request".
        """
        ...

    async def collect_outputs(self, handle: RunHandle, dest: Path) -> Path:
        """The local folder holding what a finished run wrote to its outputs folder (/workspace/outputs).

        ``dest`` is an empty folder the caller owns (and removes after use): executors whose runs
        live elsewhere unpack the outputs into it; those with the run's files at hand return their
        own folder and leave ``dest`` alone. Raises OutputsUnavailable when they cannot be had.
        """
        ...
