"""The gateway's tables: jobs, their shown log lines, withheld originals, metrics and datasets."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JOB_KINDS = ("train", "test")
ACTIVE_STATUSES = ("queued", "running")
FINAL_STATUSES = ("succeeded", "failed", "cancelled", "timeout", "lost")
JOB_STATUSES = ACTIVE_STATUSES + FINAL_STATUSES


class Base(DeclarativeBase):
    """Declarative base of the gateway's tables (Alembic migrations mirror these)."""


class Job(Base):
    """One submitted train or test run. Times are Unix seconds (UTC)."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    code_sha256: Mapped[str] = mapped_column(String(64))
    code_bytes: Mapped[int] = mapped_column(BigInteger)
    dataset: Mapped[str | None] = mapped_column(String(255))
    gpus_requested: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float)
    cancel_requested_at: Mapped[float | None] = mapped_column(Float)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    node: Mapped[str | None] = mapped_column(String(255))
    gpus: Mapped[list[int] | None] = mapped_column(JSON)
    run_handle: Mapped[str | None] = mapped_column(Text)
    log_offset: Mapped[int] = mapped_column(BigInteger, default=0)
    log_lines: Mapped[int] = mapped_column(Integer, default=0)
    rerun_of: Mapped[str | None] = mapped_column(String(32), index=True)  # an admin's re-run of this job's snapshot
    # when the retention sweep removed the job's uploaded code (arenahub.gateway.retention); None: still kept
    snapshot_removed_at: Mapped[float | None] = mapped_column(Float)


class LogLine(Base):
    """One line of a job's output as the participant sees it (after the log policy); seq 0, 1, 2 ..."""

    __tablename__ = "log_lines"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[float] = mapped_column(Float)
    stream: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))


class WithheldLine(Base):
    """The original of a line the log policy redacted or withheld; admins only.

    ``record_seq`` is the line's number in the run's raw output (shown lines are numbered apart).
    """

    __tablename__ = "withheld_lines"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    record_seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[float] = mapped_column(Float)
    stream: Mapped[str] = mapped_column(String(16))
    original: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(Text)


class Metric(Base):
    """One metric value a job reported with ``arenahub.report(step, name=value)``."""

    __tablename__ = "metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    step: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[float] = mapped_column(Float)
    ts: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_metrics_job_cursor", "job_id", "id"),)


class Dataset(Base):
    """A registered dataset folder with train/, test/inputs/ and test/annotations/."""

    __tablename__ = "datasets"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    registered_by: Mapped[str] = mapped_column(String(255))
    registered_at: Mapped[float] = mapped_column(Float)
