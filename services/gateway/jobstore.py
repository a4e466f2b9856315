"""Loading and saving jobs: each function takes a Session inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from arenahub.core.errors import Conflict, NotFound
from arenahub.gateway.models import ACTIVE_STATUSES, FINAL_STATUSES, Job


def save_new_job(session: Session, job: Job) -> Job:
    """Insert a queued job and return it."""
    session.add(job)
    session.flush()
    return job


def load_job(session: Session, job_id: str) -> Job:
    """The job ``job_id``; raises NotFound when there is none."""
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"No job {job_id!r}. List your jobs with GET /jobs.", reason="job-not-found")
    return job


def load_jobs(
    session: Session, *, user: str | None, status: str | None = None, limit: int = 100
) -> Sequence[Job]:
    """The newest ``limit`` jobs, of ``user`` (None: everyone's), optionally with one status."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if user is not None:
        query = query.where(Job.user == user)
    if status is not None:
        query = query.where(Job.status == status)
    return session.scalars(query).all()


def load_jobs_with_status(session: Session, statuses: Sequence[str]) -> Sequence[Job]:
    """Jobs in any of ``statuses``, oldest first."""
    query = select(Job).where(Job.status.in_(statuses)).order_by(Job.created_at, Job.id)
    return session.scalars(query).all()


def load_recent_usage(session: Session, *, since: float, now: float) -> dict[str, float]:
    """GPU-seconds each user's jobs used in [since, now], running jobs counted up to ``now``."""
    query = select(Job).where(
        Job.started_at.is_not(None),
        Job.gpus.is_not(None),
        or_(Job.finished_at.is_(None), Job.finished_at >= since),
    )
    usage: dict[str, float] = {}
    for job in session.scalars(query):
        start = max(job.started_at or since, since)
        end = min(job.finished_at if job.finished_at is not None else now, now)
        if end > start and job.gpus:
            usage[job.user] = usage.get(job.user, 0.0) + len(job.gpus) * (end - start)
    return usage


def save_waiting_reason(session: Session, reasons: dict[str, str]) -> None:
    """Record why each still-queued job waits (shown as the job's reason)."""
    for job_id, reason in reasons.items():
        job = session.get(Job, job_id)
        if job is not None and job.status == "queued" and job.reason != reason:
            job.reason = reason


def mark_started(
    session: Session, job_id: str, *, node: str | None, gpus: list[int], now: float
) -> Job | None:
    """Move a queued job to running on ``gpus`` of ``node``; None if it left the queue meanwhile."""
    job = session.get(Job, job_id)
    if job is None or job.status != "queued":
        return None
    job.status, job.node, job.gpus, job.started_at, job.reason = "running", node, list(gpus), now, None
    return job


def save_run_handle(session: Session, job_id: str, handle_json: str) -> Job:
    """Store the executor's handle of a started run (what a restarted gateway re-attaches to)."""
    job = load_job(session, job_id)
    job.run_handle = handle_json
    return job


def request_cancel(session: Session, job_id: str, now: float) -> Job:
    """Cancel a queued job now, or mark a running one for the executor to stop.

    Raises Conflict when the job has already finished.
    """
    job = load_job(session, job_id)
    if job.status in FINAL_STATUSES:
        raise Conflict(
            f"Job {job_id} already finished with status {job.status}; there is nothing to cancel.",
            reason="job-finished",
        )
    job.cancel_requested_at = job.cancel_requested_at or now
    if job.status == "queued":
        job.status, job.finished_at, job.reason = "cancelled", now, "Cancelled before it started."
    return job


def save_result(
    session: Session, job_id: str, *, status: str, exit_code: int | None, reason: str, finished_at: float
) -> Job:
    """Record how a job ended; a job that already has a final status keeps it."""
    job = load_job(session, job_id)
    if job.status in ACTIVE_STATUSES:
        job.status, job.exit_code, job.reason, job.finished_at = status, exit_code, reason, finished_at
    return job


def job_summary(job: Job) -> dict[str, Any]:
    """The job as plain values (what the API returns)."""
    return {
        "id": job.id,
        "user": job.user,
        "kind": job.kind,
        "status": job.status,
        "spec": job.spec,
        "dataset": job.dataset,
        "code_sha256": job.code_sha256,
        "code_bytes": job.code_bytes,
        "gpus_requested": job.gpus_requested,
        "node": job.node,
        "gpus": job.gpus,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "cancel_requested": job.cancel_requested_at is not None,
        "exit_code": job.exit_code,
        "reason": job.reason,
        "log_lines": job.log_lines,
        "rerun_of": job.rerun_of,
        "snapshot_removed_at": job.snapshot_removed_at,
    }
