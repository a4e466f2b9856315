"""Accepting a job: read the multipart upload within limits, check it, unpack the code, queue the job."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio.to_thread
from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from arenahub.core.errors import InvalidInput, PayloadTooLarge
from arenahub.gateway.auth import Principal
from arenahub.gateway.datasetstore import load_dataset_for_job
from arenahub.gateway.deps import Gateway
from arenahub.gateway.executor_settings import ExecutorSettings, snapshot_cap
from arenahub.gateway.executors.kubecode import snapshot_refusal
from arenahub.gateway.models import Job
from arenahub.gateway.quotacheck import check_submission_quota, save_submitted_job
from arenahub.gateway.runspecs import code_dir_of
from arenahub.gateway.snapshots import save_snapshot, snapshot_path_of
from arenahub.gateway.specs import JobSpec, check_spec, parse_spec
from arenahub.gateway.uploads import ArchiveLimits, check_archive, extract_archive, too_large

FORM_OVERHEAD_BYTES = 256 * 1024  # the spec field and multipart boundaries on top of the archive
SPEC_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class Submission:
    """The two parts of a POST /jobs: the raw spec JSON and the code archive bytes."""

    spec_json: str
    code: bytes


async def _limited(stream: AsyncIterator[bytes], max_bytes: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in stream:
        seen += len(chunk)
        if seen > max_bytes:
            raise PayloadTooLarge("", reason="upload-too-large")
        yield chunk


async def read_submission(request: Request, upload_max_bytes: int) -> Submission:
    """Parse the multipart body, refusing (413) before reading more than the limit allows.

    Raises InvalidInput when the body is not multipart or lacks the ``code`` or ``spec`` part.
    """
    max_body = upload_max_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise too_large(upload_max_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise InvalidInput(
            "Send the job as multipart/form-data with a 'code' part (tar.gz of the job folder) "
            "and a 'spec' part (JSON).",
            reason="form-invalid",
        )
    parser = MultiPartParser(
        request.headers, _limited(request.stream(), max_body), max_files=2, max_fields=4, max_part_size=SPEC_MAX_BYTES
    )
    try:
        form = await parser.parse()
    except PayloadTooLarge:
        raise too_large(upload_max_bytes) from None
    except MultiPartException as exc:
        raise InvalidInput(f"The multipart body could not be read: {exc.message}", reason="form-invalid") from exc
    try:
        code, spec = form.get("code"), form.get("spec")
        if not isinstance(code, UploadFile) or spec is None:
            raise InvalidInput(
                "The upload needs a 'code' file part (tar.gz of the job folder) and a 'spec' part (JSON); "
                f"it had: {', '.join(sorted(form.keys())) or 'nothing'}.",
                reason="form-invalid",
            )
        data = await code.read()
        if len(data) > upload_max_bytes:
            raise too_large(upload_max_bytes)
        spec_json = (await spec.read()).decode("utf-8", "replace") if isinstance(spec, UploadFile) else spec
        return Submission(spec_json=spec_json, code=data)
    finally:
        await form.close()


def check_code_fits_executor(code_bytes: int, executor: ExecutorSettings) -> None:
    """Raises PayloadTooLarge (413) when a code archive of ``code_bytes`` is over the executor's
    own cap (the Kubernetes executor's max_snapshot_bytes), so it is refused before it is queued."""
    cap = snapshot_cap(executor)
    if cap is not None and code_bytes > cap:
        raise PayloadTooLarge(snapshot_refusal(code_bytes, cap), reason="snapshot-too-large")


async def accept_submission(gateway: Gateway, principal: Principal, submission: Submission, now: float) -> Job:
    """Check the submission, unpack its code and queue the job; returns the stored job.

    Checks run before anything is written, so a refused submission leaves no job and no files:
    executor's code cap (413), spec (400/422), dataset (400), archive safety and limits (400/413),
    entry point (400).
    """
    settings = gateway.settings
    check_code_fits_executor(len(submission.code), settings.executor)
    spec: JobSpec = check_spec(
        parse_spec(submission.spec_json),
        gpu_cap=settings.gpu_cap,
        max_time_limit_s=settings.limits.max_time_limit_s,
        default_time_limit_s=settings.limits.default_time_limit_s,
    )
    if spec.dataset is not None:
        await gateway.db.read(load_dataset_for_job, spec.dataset)
    await check_submission_quota(gateway.db, settings.quota, principal.name, spec, now)  # 429/403, audited
    limits = ArchiveLimits(
        upload_max_bytes=settings.limits.upload_max_bytes,
        extract_max_bytes=settings.limits.extract_max_bytes,
        extract_max_files=settings.limits.extract_max_files,
    )
    manifest = await anyio.to_thread.run_sync(check_archive, submission.code, limits)
    if spec.entrypoint not in manifest.files:
        sample = ", ".join(sorted(manifest.files)[:10]) or "no files"
        raise InvalidInput(
            f"The entry point {spec.entrypoint!r} is not in the uploaded folder (it holds {sample}). "
            "Give its path relative to the folder's top.",
            reason="entrypoint-missing",
        )
    job_id = secrets.token_hex(8)
    code_dir = code_dir_of(settings.state_dir, job_id)
    code_dir.parent.mkdir(parents=True, exist_ok=True)
    try:
        await anyio.to_thread.run_sync(extract_archive, submission.code, manifest, code_dir)
        # The upload as it came, for GET /jobs/{id}/snapshot and re-runs (its hash is code_sha256).
        await anyio.to_thread.run_sync(save_snapshot, snapshot_path_of(settings.state_dir, job_id), submission.code)
    except BaseException:
        shutil.rmtree(code_dir.parent, ignore_errors=True)
        raise
    job = Job(
        id=job_id, user=principal.name, kind=spec.kind, spec=spec.model_dump(mode="json"),
        code_sha256=manifest.sha256, code_bytes=manifest.upload_bytes, dataset=spec.dataset,
        gpus_requested=spec.gpus, status="queued", created_at=now, log_offset=0, log_lines=0,
    )
    try:
        return await gateway.db.write(save_submitted_job, job)
    except BaseException:
        shutil.rmtree(code_dir.parent, ignore_errors=True)
        raise
