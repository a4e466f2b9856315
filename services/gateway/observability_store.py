"""Database reads for the gateway's metrics, GPU sampler and utilisation report (each takes a Session)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arenahub.gateway.models import Job
from arenahub.gateway.observability import GatewaySnapshot
from arenahub.gateway.quotamodels import LedgerRow


def load_gateway_snapshot(session: Session) -> GatewaySnapshot:
    """Jobs per status, GPUs asked for by queued jobs, GPUs held per node and GPU-seconds charged per source."""
    by_status = dict(session.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    queued_gpus = session.scalar(select(func.coalesce(func.sum(Job.gpus_requested), 0)).where(Job.status == "queued"))
    held: dict[str, int] = {}
    for node, gpus in session.execute(select(Job.node, Job.gpus).where(Job.status == "running")):
        if node and gpus:
            held[node] = held.get(node, 0) + len(gpus)
    charged = dict(session.execute(
        select(LedgerRow.source, func.coalesce(func.sum(LedgerRow.gpu_seconds), 0.0)).group_by(LedgerRow.source)
    ).all())
    return GatewaySnapshot(
        jobs_by_status={str(k): int(v) for k, v in by_status.items()},
        queued_gpus=int(queued_gpus or 0),
        gpus_held_by_node=held,
        charged_gpu_s_by_source={str(k): float(v) for k, v in charged.items()},
    )


def load_running_jobs(session: Session) -> Sequence[Job]:
    """Running jobs that hold GPUs and have a recorded run (the GPU sampler's job owners)."""
    query = select(Job).where(Job.status == "running", Job.run_handle.is_not(None))
    return [job for job in session.scalars(query) if job.gpus]


def load_jobs_overlapping(session: Session, since: float, until: float) -> Sequence[Job]:
    """Jobs that held GPUs at some point in [since, until) (running ones included)."""
    query = select(Job).where(
        Job.started_at.is_not(None), Job.started_at < until,
        (Job.finished_at.is_(None)) | (Job.finished_at >= since),
    )
    return [job for job in session.scalars(query) if job.gpus]


def load_ledger_rows(session: Session, since: float, until: float, source: str | None = None) -> Sequence[LedgerRow]:
    """Ledger charges overlapping [since, until), optionally of one source (job or notebook)."""
    query = select(LedgerRow).where(LedgerRow.end_at > since, LedgerRow.start_at < until)
    if source is not None:
        query = query.where(LedgerRow.source == source)
    return session.scalars(query).all()
