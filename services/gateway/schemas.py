"""The shapes of the gateway's JSON replies (they become the OpenAPI schemas)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class ErrorOut(BaseModel):
    """Every error reply: a stable reason code and a message to show unchanged."""

    error: str = Field(description="Short stable code, e.g. dataset-unknown.")
    message: str = Field(description="What happened, why, and what to do next.")


class JobOut(BaseModel):
    """A job: what was submitted, where it ran and how it ended. Times are Unix seconds."""

    id: str
    user: str
    kind: str
    status: str = Field(description="queued, running, succeeded, failed, cancelled, timeout or lost.")
    spec: dict[str, Any]
    dataset: str | None
    code_sha256: str = Field(description="SHA-256 of the uploaded code archive.")
    code_bytes: int
    gpus_requested: int
    node: str | None
    gpus: list[int] | None = Field(description="GPU indices the job ran on (None until it starts).")
    created_at: float
    started_at: float | None
    finished_at: float | None
    cancel_requested: bool
    exit_code: int | None
    reason: str | None = Field(description="Why it waits, or how it ended.")
    log_lines: int
    rerun_of: str | None = Field(None, description="The job whose code snapshot an admin re-ran as this job.")
    snapshot_removed_at: float | None = Field(
        None, description="When the retention sweep removed the uploaded code (code_sha256 stays); None: kept.")


class JobListOut(BaseModel):
    """Jobs, newest first."""

    jobs: list[JobOut]


class LogLineOut(BaseModel):
    """One shown log line; ``seq`` is also its SSE event id."""

    seq: int
    ts: float
    stream: str
    text: str
    action: str = Field(description="pass, redact, metric or marker (a marker stands for withheld lines).")


class LogPageOut(BaseModel):
    """A page of shown lines; ask again with ``after=next_after``."""

    lines: list[LogLineOut]
    next_after: int
    finished: bool = Field(description="True when the job has ended and no lines follow.")


class WithheldLineOut(BaseModel):
    """The original of a line the log policy redacted or withheld; ``record_seq`` is its raw line number."""

    record_seq: int
    ts: float
    stream: str
    original: str
    action: str
    rule: str


class WithheldPageOut(BaseModel):
    """A page of withheld originals (admins only)."""

    lines: list[WithheldLineOut]
    next_after: int


class MetricOut(BaseModel):
    """One reported metric value."""

    cursor: int
    seq: int
    step: int
    name: str
    value: float
    ts: float


class MetricPageOut(BaseModel):
    """A page of metric values; ask again with ``after=next_after``."""

    metrics: list[MetricOut]
    next_after: int


class DatasetIn(BaseModel):
    """A dataset folder on the gateway's machine to register."""

    name: str = Field(description="Lowercase name jobs refer to, e.g. faces-2026.")
    path: str = Field(description="Absolute folder holding train/, test/inputs/ and test/annotations/.")
    description: str = ""


class DatasetOut(BaseModel):
    """A registered dataset; ``path`` is shown to admins only."""

    name: str
    description: str
    path: str | None = None
    registered_by: str | None = None
    registered_at: float | None = None


class DatasetListOut(BaseModel):
    """Registered datasets by name."""

    datasets: list[DatasetOut]
