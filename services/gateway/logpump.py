"""Follows one run: its log records through the log gate into the database, then its result."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from arenahub.gateway.db import Database
from arenahub.gateway.executors.base import Executor, LogRecord, RunHandle, RunResult
from arenahub.gateway.jobstore import save_result
from arenahub.gateway.loggate import LogGate, Released
from arenahub.gateway.logstore import LogBatch, save_log_batch
from arenahub.gateway.observability import GatewayMetrics
from arenahub.gateway.policyaudit import save_first_policy_events, save_policy_summary
from arenahub.gateway.signals import JobSignals

log = logging.getLogger(__name__)

_END = object()
BATCH_MAX_RECORDS = 1000
RESULT_POLL_S = 0.2
RESULT_WAIT_S = 30.0
DB_RETRY_S = (0.5, 1, 2, 5, 10)


@dataclass
class PumpContext:
    """What every log pump shares: the executor, the database, wake-ups and the clock."""

    executor: Executor
    db: Database
    signals: JobSignals
    clock: Callable[[], float] = time.time
    # Called once a run's result is stored (e.g. the ScoreKeeper scores test jobs); must not block.
    on_finished: Callable[[str, RunResult], Awaitable[None]] | None = None
    metrics: GatewayMetrics = field(default_factory=GatewayMetrics)  # log lines and finished jobs are counted here


async def pump_run(ctx: PumpContext, job_id: str, handle: RunHandle, offset: int, gate: LogGate) -> RunResult:
    """Store the run's records after byte ``offset`` until it ends, then store and return its result.

    Each commit writes the released lines, withheld originals, metrics and the new offset in
    one transaction, so a gateway killed at any point resumes from the committed offset with
    no gap and no duplicate.
    """
    records: asyncio.Queue[object] = asyncio.Queue(maxsize=10 * BATCH_MAX_RECORDS)
    policy = policy_name_of(gate)  # what the audit trail calls the log policy
    reader = asyncio.create_task(_read_all(ctx.executor, handle, offset, records), name=f"read-logs-{job_id}")
    last: LogRecord | None = None
    try:
        while True:
            batch, ended = await _next_batch(records)
            if batch:
                last = batch[-1]
                await _commit(ctx, job_id, gate.feed(batch, ctx.clock()), policy)
            if ended:
                break
        read_error = reader.exception() if reader.done() and not reader.cancelled() else None
        result = await _await_result(ctx.executor, handle, read_error)
        # What the policy owes at the end (a final marker) and the result land together.
        owed = gate.flush(ctx.clock(), last)
        final = LogBatch(owed.lines, owed.withheld, owed.metrics, None)

        def save_final(session: Session) -> None:  # runs in a worker thread: captures no gate, only plain values
            save_log_batch(session, job_id, final)
            save_first_policy_events(session, job_id, final.withheld, policy=policy, now=ctx.clock())
            save_result(session, job_id, status=result.status, exit_code=result.exit_code,
                        reason=result.reason, finished_at=result.finished_at)
            save_policy_summary(session, job_id, policy=policy, now=ctx.clock())  # audit: counts by reason

        await _save_with_retries(ctx.db, save_final)
        ctx.metrics.lines_released(owed)
        ctx.metrics.job_finished(result.status)
        log.info("Job %s finished: %s (%s)", job_id, result.status, result.reason)
        if ctx.on_finished is not None:
            await ctx.on_finished(job_id, result)
        return result
    finally:
        reader.cancel()
        ctx.signals.notify(job_id)


async def _read_all(executor: Executor, handle: RunHandle, offset: int, out: asyncio.Queue[object]) -> None:
    try:
        async for record in executor.read_logs(handle, offset):
            await out.put(record)
    finally:
        await out.put(_END)


async def _next_batch(records: asyncio.Queue[object]) -> tuple[list[LogRecord], bool]:
    # Wait for one record, then take whatever else is already there: one line at a time when a
    # job prints slowly (low latency), big batches when it floods (few transactions).
    first = await records.get()
    if first is _END:
        return [], True
    batch: list[LogRecord] = [first]  # type: ignore[list-item]
    while len(batch) < BATCH_MAX_RECORDS and not records.empty():
        item = records.get_nowait()
        if item is _END:
            return batch, True
        batch.append(item)  # type: ignore[arg-type]
    return batch, False


def policy_name_of(gate: LogGate) -> str:
    """The name the audit trail gives the gate's log policy (its ``name``, e.g. "filtered")."""
    return str(getattr(gate.policy, "name", "") or type(gate.policy).__name__)


async def _commit(ctx: PumpContext, job_id: str, released: Released, policy: str) -> None:
    if released.offset is None:
        return
    batch = LogBatch(released.lines, released.withheld, released.metrics, released.offset)

    def save(session: Session) -> None:
        # The first line held back for a new reason is audited with the lines, in one transaction.
        if save_log_batch(session, job_id, batch):
            save_first_policy_events(session, job_id, batch.withheld, policy=policy, now=ctx.clock())

    await _save_with_retries(ctx.db, save)
    ctx.metrics.lines_released(released)
    ctx.signals.notify(job_id)


async def _await_result(executor: Executor, handle: RunHandle, read_error: BaseException | None) -> RunResult:
    if read_error is not None:
        log.error("Reading the log of job %s failed: %r", handle.job_id, read_error)
    deadline = time.monotonic() + RESULT_WAIT_S
    while True:
        result = await executor.result(handle)
        if result is not None:
            return result
        if time.monotonic() > deadline:
            # The log ended but the run reports no result: stop it and record it as lost rather
            # than leave a run nobody follows.
            await executor.cancel(handle)
            why = f"reading its log failed ({read_error!r})" if read_error else "its log ended without a result"
            return RunResult(
                status="lost",
                exit_code=None,
                reason=f"The gateway lost track of this run: {why}; it was stopped.",
                finished_at=time.time(),
            )
        await asyncio.sleep(RESULT_POLL_S)


async def _save_with_retries(db: Database, fn: Callable[[Session], object]) -> None:
    # A database hiccup must not drop lines: retry, then keep trying at the slowest pace.
    attempt = 0
    while True:
        try:
            await db.write(fn)
            return
        except SQLAlchemyError:
            delay = DB_RETRY_S[min(attempt, len(DB_RETRY_S) - 1)]
            log.exception("Saving to the database failed (attempt %d); retrying in %.1f s", attempt + 1, delay)
            attempt += 1
            await asyncio.sleep(delay)
