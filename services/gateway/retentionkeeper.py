"""The retention sweep: every ``retention.sweep_interval_s`` it removes the uploaded code of jobs the rule lets go.

The rule is ``arenahub.gateway.retention.keep_reason``. For each job it lets go the sweep deletes
``jobs/<id>/code.tar.gz`` and the unpacked ``jobs/<id>/code/`` (``snapshots.remove_upload``: one
plain folder, no symbolic link followed), then, in one transaction, marks the job
(``snapshot_removed_at``; its ``code_sha256`` stays) and appends a ``retention`` audit event. Files
first: a gateway killed in between finds the job again on its next sweep (nothing left to delete)
and marks it then. Run folders (logs, outputs) are the executor's and are not touched.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from arenahub.gateway.audit import save_audit_event
from arenahub.gateway.competitionmodels import Competition, Score
from arenahub.gateway.competitionstore import competition_state
from arenahub.gateway.db import Database
from arenahub.gateway.models import FINAL_STATUSES, Job
from arenahub.gateway.retention import UploadFacts, finished_before, format_utc, keep_reason
from arenahub.gateway.retention_settings import RetentionSettings
from arenahub.gateway.snapshots import UnsafeUpload, remove_upload

log = logging.getLogger(__name__)
_MARK_BATCH = 500  # jobs marked per transaction


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did: jobs whose upload it removed, and jobs it refused to touch (with why)."""

    removed: tuple[str, ...] = ()
    refused: tuple[tuple[str, str], ...] = ()


def load_upload_facts(session: Session, *, ended_before: float, now: float) -> list[UploadFacts]:
    """Facts about every finished job that ended before ``ended_before`` and still has its upload."""
    ended = func.coalesce(Job.finished_at, Job.created_at)
    rows = session.execute(
        select(Job.id, Job.status, Job.created_at, Job.finished_at, Score.on_leaderboard, Competition)
        .outerjoin(Score, Score.job_id == Job.id)
        .outerjoin(Competition, Competition.id == Score.competition_id)
        .where(Job.status.in_(FINAL_STATUSES), Job.snapshot_removed_at.is_(None), ended < ended_before)
        .order_by(ended, Job.id)
    ).all()
    return [
        UploadFacts(
            job_id=job_id, status=status, created_at=created_at, finished_at=finished_at,
            on_leaderboard=bool(on_leaderboard),
            scored_for_open_competition=competition is not None and competition_state(competition, now) != "closed",
        )
        for job_id, status, created_at, finished_at, on_leaderboard, competition in rows
    ]


def save_removals(session: Session, job_ids: Sequence[str], *, now: float, snapshot_days: float) -> int:
    """Mark the jobs' uploads removed at ``now`` and append one ``retention`` audit event per job; returns
    how many were marked (a job marked meanwhile is skipped)."""
    jobs = session.scalars(
        select(Job).where(Job.id.in_(job_ids), Job.snapshot_removed_at.is_(None)).order_by(Job.id)
    ).all()
    for job in jobs:
        save_audit_event(
            session, kind="retention", actor="gateway", subject=job.user, now=now,
            message=f"removed the uploaded code of {job.kind} job {job.id} (finished "
                    f"{format_utc(job.finished_at or job.created_at)}; uploads are kept {snapshot_days:g} days)",
            detail={"job_id": job.id, "code_sha256": job.code_sha256, "code_bytes": job.code_bytes,
                    "finished_at": job.finished_at, "snapshot_days": snapshot_days},
        )
    if jobs:
        session.execute(update(Job).where(Job.id.in_([j.id for j in jobs])).values(snapshot_removed_at=now))
    return len(jobs)


@dataclass
class RetentionKeeper:
    """Runs the sweep at start and every ``sweep_interval_s``; does nothing while ``snapshot_days`` is 0."""

    settings: RetentionSettings
    db: Database
    state_dir: Path
    clock: Callable[[], float] = time.time
    _task: asyncio.Task[None] | None = field(default=None, init=False)

    async def start(self) -> None:
        """Start the periodic sweep (not at all when retention is off)."""
        if self.settings.snapshot_days > 0:
            self._task = asyncio.create_task(self._loop(), name="retention-keeper")

    async def stop(self) -> None:
        """Stop the loop; a sweep cut short is finished by the next gateway."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                # one failed sweep must not end retention; the next one finds the same jobs again
                log.exception("Retention sweep failed; retrying in %.0f s", self.settings.sweep_interval_s)
            await asyncio.sleep(self.settings.sweep_interval_s)

    async def sweep(self) -> SweepReport:
        """Remove the uploads the rule lets go as of now; returns what was removed and refused."""
        days = self.settings.snapshot_days
        now = self.clock()
        if days <= 0:
            return SweepReport()
        facts = await self.db.read(lambda s: load_upload_facts(s, ended_before=finished_before(days, now), now=now))
        expired = [f.job_id for f in facts if keep_reason(f, snapshot_days=days, now=now) is None]
        removed: list[str] = []
        refused: list[tuple[str, str]] = []
        for job_id in expired:
            try:
                await anyio.to_thread.run_sync(remove_upload, self.state_dir, job_id)
            except (UnsafeUpload, OSError) as e:
                log.warning("Retention: left the upload of job %r alone: %s", job_id, e)
                refused.append((job_id, str(e)))
                continue
            removed.append(job_id)
        for start in range(0, len(removed), _MARK_BATCH):
            batch = removed[start:start + _MARK_BATCH]
            await self.db.write(lambda s, b=batch: save_removals(s, b, now=now, snapshot_days=days))
        if removed:
            log.info("Retention: removed the uploaded code of %d job(s) finished over %g days ago: %s",
                     len(removed), days, ", ".join(removed))
        return SweepReport(tuple(removed), tuple(refused))
