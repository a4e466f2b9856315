"""Saving and loading a job's shown log lines, withheld originals and metrics."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from arenahub.gateway.jobstore import load_job
from arenahub.gateway.models import LogLine, Metric, WithheldLine


@dataclass(frozen=True)
class ShownLine:
    """A log line as the participant sees it; ``seq`` numbers shown lines 0, 1, 2 ... (the SSE id)."""

    seq: int
    ts: float
    stream: str
    text: str
    action: str


@dataclass(frozen=True)
class WithheldOriginal:
    """The original of a line the policy redacted or withheld (admins only); ``record_seq`` is its raw line number."""

    record_seq: int
    ts: float
    stream: str
    original: str
    action: str
    rule: str


@dataclass(frozen=True)
class MetricPoint:
    """One metric value at a training step; ``seq`` is the shown metric line it came from."""

    seq: int
    step: int
    name: str
    value: float
    ts: float


@dataclass(frozen=True)
class LogBatch:
    """What one commit of the log pump stores, and the log file offset it has read up to
    (None for lines that consume no record, like the policy's end-of-run marker)."""

    lines: Sequence[ShownLine]
    withheld: Sequence[WithheldOriginal]
    metrics: Sequence[MetricPoint]
    offset: int | None


def save_log_batch(session: Session, job_id: str, batch: LogBatch) -> bool:
    """Store a batch and move the job's committed offset to ``batch.offset``, in the caller's transaction.

    A batch whose offset is not beyond the committed one was stored before (a retry after a
    crash) and is skipped: returns False. This plus the single transaction makes every line
    land exactly once. Raises ValueError when the shown lines do not continue the stored ones.
    """
    job = load_job(session, job_id)
    if batch.offset is not None and batch.offset <= job.log_offset:
        return False
    if batch.lines and batch.lines[0].seq != job.log_lines:
        raise ValueError(
            f"Job {job_id}: shown line {batch.lines[0].seq} does not follow the {job.log_lines} stored lines."
        )
    if batch.lines:
        session.execute(insert(LogLine), [{"job_id": job_id, **asdict(line)} for line in batch.lines])
    if batch.withheld:
        session.execute(insert(WithheldLine), [{"job_id": job_id, **asdict(w)} for w in batch.withheld])
    if batch.metrics:
        session.execute(insert(Metric), [{"job_id": job_id, **asdict(m)} for m in batch.metrics])
    job.log_offset = job.log_offset if batch.offset is None else batch.offset
    job.log_lines += len(batch.lines)
    return True


def load_log_lines(session: Session, job_id: str, *, after: int, limit: int) -> list[ShownLine]:
    """Up to ``limit`` shown lines with seq greater than ``after``, in order."""
    query = (
        select(LogLine)
        .where(LogLine.job_id == job_id, LogLine.seq > after)
        .order_by(LogLine.seq)
        .limit(limit)
    )
    return [
        ShownLine(seq=row.seq, ts=row.ts, stream=row.stream, text=row.text, action=row.action)
        for row in session.scalars(query)
    ]


def load_withheld(session: Session, job_id: str, *, after: int, limit: int) -> list[WithheldOriginal]:
    """Up to ``limit`` withheld originals with record_seq greater than ``after``, in order."""
    query = (
        select(WithheldLine)
        .where(WithheldLine.job_id == job_id, WithheldLine.record_seq > after)
        .order_by(WithheldLine.record_seq)
        .limit(limit)
    )
    return [
        WithheldOriginal(
            record_seq=row.record_seq, ts=row.ts, stream=row.stream, original=row.original, action=row.action, rule=row.rule
        )
        for row in session.scalars(query)
    ]


def load_metrics(session: Session, job_id: str, *, after: int, limit: int) -> list[tuple[int, MetricPoint]]:
    """Up to ``limit`` (cursor, metric) pairs with cursor greater than ``after``, in report order."""
    query = (
        select(Metric)
        .where(Metric.job_id == job_id, Metric.id > after)
        .order_by(Metric.id)
        .limit(limit)
    )
    return [
        (row.id, MetricPoint(seq=row.seq, step=row.step, name=row.name, value=row.value, ts=row.ts))
        for row in session.scalars(query)
    ]
