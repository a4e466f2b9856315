"""Job routes: submit, list, show and cancel; fetch a job's code snapshot and re-run it (admins)."""

from __future__ import annotations

import time
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Query, Request, Response

from arenahub.core.errors import UnprocessableInput
from arenahub.gateway.deps import AdminDep, GatewayDep, PrincipalDep, VisibleJobDep
from arenahub.gateway.jobstore import job_summary, load_jobs, request_cancel
from arenahub.gateway.models import JOB_STATUSES
from arenahub.gateway.schemas import ErrorOut, JobListOut, JobOut
from arenahub.gateway.snapshots import load_rerun_comparison, read_snapshot, rerun_job
from arenahub.gateway.submissions import accept_submission, check_code_fits_executor, read_submission

router = APIRouter(tags=["jobs"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})

_SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["code", "spec"],
                    "properties": {
                        "code": {"type": "string", "format": "binary", "description": "tar.gz of the job folder"},
                        "spec": {
                            "type": "string",
                            "description": 'JSON: {"kind": "train"|"test", "entrypoint": "train.py", "gpus": 1, '
                            '"time_limit_s": 3600, "dataset": "name"}',
                        },
                    },
                }
            }
        },
    }
}


@router.post(
    "/jobs",
    status_code=201,
    response_model=JobOut,
    openapi_extra=_SUBMIT_BODY,
    responses={400: {"model": ErrorOut}, 413: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)
async def submit_job(request: Request, gateway: GatewayDep, principal: PrincipalDep) -> JobOut:
    """Queue a train or test job: the job folder as a tar.gz (``code``) and its ``spec``."""
    submission = await read_submission(request, gateway.settings.limits.upload_max_bytes)
    job = await accept_submission(gateway, principal, submission, time.time())
    gateway.scheduler.wake()
    return JobOut.model_validate(job_summary(job))


@router.get("/jobs", response_model=JobListOut)
async def list_jobs(
    gateway: GatewayDep,
    principal: PrincipalDep,
    status: Annotated[str | None, Query(description=f"One of {', '.join(JOB_STATUSES)}.")] = None,
    user: Annotated[str | None, Query(description="Admins: only this user's jobs.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JobListOut:
    """Your jobs, newest first; admins see everyone's (or one ``user``'s)."""
    if status is not None and status not in JOB_STATUSES:
        raise UnprocessableInput(
            f"No job status {status!r}. Valid: {', '.join(JOB_STATUSES)}.", reason="status-invalid"
        )
    owner = user if principal.can_read_all else principal.name
    jobs = await gateway.db.read(lambda s: load_jobs(s, user=owner, status=status, limit=limit))
    return JobListOut(jobs=[JobOut.model_validate(job_summary(job)) for job in jobs])


@router.get("/jobs/{job_id}", response_model=JobOut, responses={404: {"model": ErrorOut}})
async def show_job(job: VisibleJobDep) -> JobOut:
    """One job: spec, code SHA-256, status, GPUs, times and exit status."""
    return JobOut.model_validate(job_summary(job))


@router.post(
    "/jobs/{job_id}/cancel",
    status_code=202,
    response_model=JobOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def cancel_job(job: VisibleJobDep, gateway: GatewayDep) -> JobOut:
    """Cancel a queued job now, or stop a running one (its status becomes cancelled)."""
    cancelled = await gateway.db.write(request_cancel, job.id, time.time())
    gateway.scheduler.wake()
    gateway.signals.notify(job.id)
    return JobOut.model_validate(job_summary(cancelled))


SNAPSHOT_HASH_HEADER = "X-Arenahub-Snapshot-Sha256"


@router.get(
    "/jobs/{job_id}/snapshot",
    response_class=Response,
    responses={200: {"content": {"application/gzip": {}}, "description": "The code archive as uploaded"},
               404: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def job_snapshot(job: VisibleJobDep, gateway: GatewayDep) -> Response:
    """The job's code archive exactly as submitted (its owner or admins); the hash header equals ``code_sha256``."""
    snapshot = await anyio.to_thread.run_sync(read_snapshot, gateway.settings.state_dir, job)
    return Response(snapshot.data, media_type="application/gzip", headers={
        SNAPSHOT_HASH_HEADER: snapshot.sha256,
        "Content-Disposition": f'attachment; filename="job-{job.id}.tar.gz"',
    })


@router.post(
    "/jobs/{job_id}/rerun",
    status_code=201,
    response_model=JobOut,
    responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}, 413: {"model": ErrorOut}},
)
async def rerun(job: VisibleJobDep, gateway: GatewayDep, admin: AdminDep) -> JobOut:
    """Admins: run the job's snapshot again with its spec as a new job (``rerun_of``), to reproduce its score.

    The re-run is the admin's: it skips the submission quota and is never a leaderboard entry.
    413 when the snapshot is over the executor's code cap (lowered since it was submitted).
    """
    check_code_fits_executor(job.code_bytes, gateway.settings.executor)
    again = await rerun_job(gateway, job, admin.name, time.time())
    gateway.scheduler.wake()
    return JobOut.model_validate(job_summary(again))


@router.get("/jobs/{job_id}/reruns", responses={404: {"model": ErrorOut}})
async def reruns(job: VisibleJobDep, gateway: GatewayDep, admin: AdminDep) -> dict[str, Any]:
    """Admins: the job and each re-run of it with their statuses and scores, side by side."""
    return await gateway.db.read(load_rerun_comparison, job.id)
