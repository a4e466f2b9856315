"""Code snapshots: the uploaded tar.gz kept beside each job, served back by hash, and re-run by admins.

The archive is kept exactly as uploaded, so its SHA-256 is the ``code_sha256`` the job and its
leaderboard entry show; a re-run unpacks the same bytes into a new job (``rerun_of`` the first).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from sqlalchemy import select
from sqlalchemy.orm import Session

from arenahub.core.errors import Conflict, Gone, NotFound
from arenahub.gateway.audit import save_audit_event
from arenahub.gateway.competitionstore import load_score
from arenahub.gateway.deps import Gateway
from arenahub.gateway.jobstore import save_new_job
from arenahub.gateway.models import Job
from arenahub.gateway.retention import is_plain_job_id, removed_message
from arenahub.gateway.runspecs import code_dir_of
from arenahub.gateway.uploads import ArchiveLimits, check_archive, extract_archive

SNAPSHOT_NAME = "code.tar.gz"


def snapshot_path_of(state_dir: Path, job_id: str) -> Path:
    """Where a job's uploaded code archive is kept: ``<state_dir>/jobs/<id>/code.tar.gz``."""
    return code_dir_of(state_dir, job_id).parent / SNAPSHOT_NAME


def save_snapshot(path: Path, data: bytes) -> None:
    """Write the archive whole or not at all (a sibling temporary file renamed into place), read-only."""
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.chmod(partial, 0o444)
    partial.replace(path)


class UnsafeUpload(RuntimeError):
    """A job's upload folder is not what the gateway made (odd id, a symbolic link ...); nothing was removed."""


def remove_upload(state_dir: Path, job_id: str) -> bool:
    """Delete the job's kept upload, ``jobs/<id>/code.tar.gz`` and the unpacked ``jobs/<id>/code/``.

    Returns whether anything was there. Nothing else is touched: the id must be one plain path
    component, and no symbolic link is followed on the way (the folder is opened with O_NOFOLLOW
    and the removals are relative to it; rmtree never follows links). Raises UnsafeUpload and
    removes nothing when the id or the folder is not what the gateway makes.
    """
    if not is_plain_job_id(job_id):
        raise UnsafeUpload(f"job id {job_id!r} is not a plain folder name")
    try:
        jobs_fd = os.open(state_dir / "jobs", os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        try:
            job_fd = os.open(job_id, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=jobs_fd)
        except FileNotFoundError:
            return False
        except OSError as e:  # ELOOP/ENOTDIR: a symbolic link or a file where the job's folder should be
            raise UnsafeUpload(f"jobs/{job_id} is not a plain folder ({e.strerror})") from None
        try:
            # check both first, so that an odd folder loses nothing
            found = [(name, kind) for name, kind in ((SNAPSHOT_NAME, "file"), ("code", "folder"))
                     if _entry_kind(job_fd, name, job_id, kind)]
            for name, kind in found:
                if kind == "folder":
                    shutil.rmtree(name, dir_fd=job_fd)
                else:
                    os.unlink(name, dir_fd=job_fd)
            return bool(found)
        finally:
            os.close(job_fd)
    finally:
        os.close(jobs_fd)


def _entry_kind(folder_fd: int, name: str, job_id: str, kind: str) -> bool:
    """Whether ``name`` exists in the folder as a plain ``kind`` (file or folder); UnsafeUpload when it is
    anything else (a symbolic link, a device ...)."""
    try:
        mode = os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return False
    if not (stat.S_ISDIR(mode) if kind == "folder" else stat.S_ISREG(mode)):
        raise UnsafeUpload(f"jobs/{job_id}/{name} is not a plain {kind}")
    return True


@dataclass(frozen=True)
class Snapshot:
    """A job's kept archive, read back and checked against the hash recorded when it was submitted."""

    job_id: str
    data: bytes
    sha256: str


def read_snapshot(state_dir: Path, job: Job) -> Snapshot:
    """The job's archive; Gone when the retention sweep removed it, NotFound when none was kept, Conflict
    when the bytes no longer match the hash."""
    if job.snapshot_removed_at is not None:
        raise Gone(removed_message(job.id, job.code_sha256, job.snapshot_removed_at), reason="snapshot-removed")
    path = snapshot_path_of(state_dir, job.id)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(
            f"Job {job.id} has no kept code snapshot (it was submitted before the gateway kept snapshots, "
            "or its files were removed).", reason="snapshot-not-found",
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != job.code_sha256:
        raise Conflict(
            f"The kept snapshot of job {job.id} has SHA-256 {digest}, not the {job.code_sha256} recorded at "
            "submission; it was changed on disk and cannot be served or re-run. Tell the operator.",
            reason="snapshot-altered",
        )
    return Snapshot(job.id, data, digest)


async def rerun_job(gateway: Gateway, original: Job, admin: str, now: float) -> Job:
    """Queue a new job with ``original``'s spec and snapshot, owned by ``admin`` and marked ``rerun_of``.

    It skips the submission quota and never enters the leaderboard; its GPU time is the
    admin's. Raises NotFound/Conflict when the snapshot is missing or altered.
    """
    state_dir = gateway.settings.state_dir
    snapshot = await anyio.to_thread.run_sync(read_snapshot, state_dir, original)
    limits = gateway.settings.limits
    manifest = await anyio.to_thread.run_sync(check_archive, snapshot.data, ArchiveLimits(
        upload_max_bytes=max(limits.upload_max_bytes, len(snapshot.data)),
        extract_max_bytes=limits.extract_max_bytes, extract_max_files=limits.extract_max_files,
    ))
    job_id = secrets.token_hex(8)
    code_dir = code_dir_of(state_dir, job_id)
    code_dir.parent.mkdir(parents=True, exist_ok=True)
    job = Job(
        id=job_id, user=admin, kind=original.kind, spec=dict(original.spec), code_sha256=manifest.sha256,
        code_bytes=manifest.upload_bytes, dataset=original.dataset, gpus_requested=original.gpus_requested,
        status="queued", created_at=now, log_offset=0, log_lines=0, rerun_of=original.id,
    )
    try:
        await anyio.to_thread.run_sync(extract_archive, snapshot.data, manifest, code_dir)
        await anyio.to_thread.run_sync(save_snapshot, snapshot_path_of(state_dir, job_id), snapshot.data)
        return await gateway.db.write(save_rerun_job, job)
    except BaseException:
        shutil.rmtree(code_dir.parent, ignore_errors=True)
        raise


def save_rerun_job(session: Session, job: Job) -> Job:
    """Insert the re-run job and its 'admin' audit event in one transaction."""
    saved = save_new_job(session, job)
    save_audit_event(
        session, kind="admin", actor=job.user, subject=job.rerun_of or "", now=job.created_at,
        message=f"re-ran job {job.rerun_of} as {job.id}",
        detail={"job_id": job.id, "rerun_of": job.rerun_of, "code_sha256": job.code_sha256, "dataset": job.dataset},
    )
    return saved


def score_brief(session: Session, job: Job) -> dict[str, Any]:
    """A job, its status and its score side by side (what the re-run comparison lists)."""
    score = load_score(session, job.id)
    return {
        "job_id": job.id, "user": job.user, "status": job.status, "code_sha256": job.code_sha256,
        "rerun_of": job.rerun_of, "score_status": score.status if score else None,
        "public_score": score.public_score if score else None,
        "private_score": score.private_score if score else None,
        "on_leaderboard": score.on_leaderboard if score else None,
    }


def load_rerun_comparison(session: Session, job_id: str) -> dict[str, Any]:
    """The job and every re-run of it, oldest first, each with its score (admins)."""
    original = session.get(Job, job_id)
    if original is None:
        raise NotFound(f"No job {job_id!r}. List jobs with GET /jobs.", reason="job-not-found")
    reruns = session.scalars(select(Job).where(Job.rerun_of == job_id).order_by(Job.created_at, Job.id)).all()
    return {"original": score_brief(session, original), "reruns": [score_brief(session, r) for r in reruns]}
