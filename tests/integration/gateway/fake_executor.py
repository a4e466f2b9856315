"""FakeExecutor: the Executor interface with in-memory runs that finish, fail or hang on cue.

A job picks its behaviour through its spec's env (the gateway passes env to the executor):
``FAKE_LINES`` lines to print (default 3, text "line <n>"), ``FAKE_END`` one of ``succeed``
(default), ``fail``, ``hang`` (runs until a test calls ``finish`` or the job is cancelled),
``refuse`` (``start`` raises), and ``FAKE_PRINT`` a ``|``-separated list of exact lines.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from arenahub.gateway.executors.base import LogRecord, OutputsUnavailable, RunHandle, RunResult, RunSpec


@dataclass
class FakeRun:
    """One in-memory run: its spec, records so far, and its result once ended."""

    spec: RunSpec
    handle: RunHandle
    records: list[LogRecord] = field(default_factory=list)
    result: RunResult | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class FakeExecutor:
    """Executor with scripted runs; one instance may outlive a gateway app to test re-attaching."""

    def __init__(self) -> None:
        self.runs: dict[str, FakeRun] = {}
        self.started: list[RunSpec] = []
        self.cancelled: list[str] = []

    async def start(self, spec: RunSpec) -> RunHandle:
        """Start a scripted run (raises RuntimeError when the spec asks to be refused)."""
        end = spec.env.get("FAKE_END", "succeed")
        if end == "refuse":
            raise RuntimeError("the fake sandbox refuses this run")
        handle = RunHandle(job_id=spec.job_id, run_dir=f"/fake/{spec.job_id}", supervisor_pid=0, started_at=time.time())
        run = FakeRun(spec=spec, handle=handle)
        self.runs[spec.job_id] = run
        self.started.append(spec)
        lines = (
            spec.env["FAKE_PRINT"].split("|")
            if "FAKE_PRINT" in spec.env
            else [f"line {n}" for n in range(int(spec.env.get("FAKE_LINES", "3")))]
        )
        for text in lines:
            self.emit(spec.job_id, text)
        if end == "succeed":
            self.finish(spec.job_id, "succeeded", 0)
        elif end == "fail":
            self.finish(spec.job_id, "failed", 1, "exit status 1")
        return handle

    def emit(self, job_id: str, text: str, stream: str = "stdout") -> LogRecord:
        """Append one output line to a running run."""
        run = self.runs[job_id]
        previous = run.records[-1].offset if run.records else 0
        seq = len(run.records)
        ts = time.time()
        size = len(json.dumps({"seq": seq, "ts": ts, "stream": stream, "text": text}).encode()) + 1
        record = LogRecord(seq=seq, offset=previous + size, ts=ts, stream=stream, text=text)
        run.records.append(record)
        self._changed(run)
        return record

    def finish(self, job_id: str, status: str, exit_code: int | None = None, reason: str = "") -> None:
        """End a run with ``status`` (succeeded, failed, timeout, lost ...)."""
        run = self.runs[job_id]
        if run.result is None:
            run.result = RunResult(status=status, exit_code=exit_code, reason=reason or status, finished_at=time.time())
            self._changed(run)

    async def read_logs(self, handle: RunHandle, offset: int = 0) -> AsyncIterator[LogRecord]:
        """Records after byte ``offset``, following the run until it has ended and all are read."""
        run = self.runs[handle.job_id]
        index = sum(1 for r in run.records if r.offset <= offset)
        while True:
            waiter = run.changed
            while index < len(run.records):
                yield run.records[index]
                index += 1
            if run.result is not None:
                return
            await waiter.wait()

    async def result(self, handle: RunHandle) -> RunResult | None:
        """The run's result, None while it runs."""
        return self.runs[handle.job_id].result

    async def find_runs(self, competitions: Iterable[str] = ()) -> list[RunHandle]:
        """Handles of every run this fake has started (running or ended)."""
        return [run.handle for run in self.runs.values()]

    async def collect_outputs(self, handle: RunHandle, dest: Path) -> Path:
        """Fake runs write no files: their outputs are never there."""
        raise OutputsUnavailable("This run wrote no outputs (it ran in the test executor).",
                                 reason="outputs-missing", log_detail=f"fake run {handle.job_id}")

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        """End the run as cancelled with ``reason`` as its last system line (a finished run stays as it ended)."""
        self.cancelled.append(handle.job_id)
        if reason and self.runs[handle.job_id].result is None:
            self.emit(handle.job_id, f"Job cancelled: {reason}", stream="system")
        self.finish(handle.job_id, "cancelled", None, reason or "Cancelled by its user.")

    @staticmethod
    def _changed(run: FakeRun) -> None:
        # Wake every reader, then give later waiters a fresh event.
        run.changed.set()
        run.changed = asyncio.Event()
