"""Log, metric and withheld-line routes: SSE with Last-Event-ID resume, or paged JSON."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from arenahub.core.errors import UnprocessableInput
from arenahub.gateway.deps import AdminDep, Gateway, GatewayDep, VisibleJobDep
from arenahub.gateway.jobstore import load_job
from arenahub.gateway.logstore import load_log_lines, load_metrics, load_withheld
from arenahub.gateway.models import FINAL_STATUSES
from arenahub.gateway.schemas import ErrorOut, LogPageOut, MetricPageOut, WithheldPageOut

router = APIRouter(tags=["logs"], responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}})

STREAM_BATCH = 500
STREAM_POLL_S = 1.0  # fallback when no in-process wake-up comes (lines stored by another process)
PING_S = 15


def _wants_json(request: Request, format: str | None) -> bool:
    if format is not None:
        if format not in ("json", "sse"):
            raise UnprocessableInput(f"No log format {format!r}. Valid: json, sse.", reason="format-invalid")
        return format == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/event-stream" not in accept


def _resume_point(after: int | None, last_event_id: str | None) -> int:
    if last_event_id is not None and last_event_id.strip().lstrip("-").isdigit():
        return int(last_event_id)
    return -1 if after is None else after


@router.get(
    "/jobs/{job_id}/logs",
    response_model=LogPageOut,
    responses={200: {"content": {"text/event-stream": {}}, "description": "SSE stream or a JSON page"}},
)
async def job_logs(
    request: Request,
    job: VisibleJobDep,
    gateway: GatewayDep,
    after: Annotated[int | None, Query(ge=-1, description="Only lines with seq greater than this.")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    format: Annotated[str | None, Query(description="json for a page, sse for a stream.")] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> LogPageOut | EventSourceResponse:
    """The job's shown log: a server-sent event stream (event ``line``, id = seq, then ``end``),
    or with ``Accept: application/json`` / ``format=json`` one page of lines."""
    start = _resume_point(after, last_event_id)
    if _wants_json(request, format):
        lines = await gateway.db.read(lambda s: load_log_lines(s, job.id, after=start, limit=limit))
        current = await gateway.db.read(load_job, job.id)
        finished = current.status in FINAL_STATUSES and len(lines) < limit
        next_after = lines[-1].seq if lines else start
        return LogPageOut.model_validate({"lines": [asdict(x) for x in lines], "next_after": next_after, "finished": finished})
    return EventSourceResponse(_stream_lines(gateway, job.id, start), ping=PING_S)


async def _stream_lines(gateway: Gateway, job_id: str, after: int) -> AsyncIterator[ServerSentEvent]:
    cursor = after
    while True:
        # Ticket first, then read: a line stored in between still wakes us.
        ticket = gateway.signals.ticket(job_id)
        lines = await gateway.db.read(lambda s: load_log_lines(s, job_id, after=cursor, limit=STREAM_BATCH))
        for line in lines:
            yield ServerSentEvent(data=json.dumps(asdict(line)), event="line", id=str(line.seq))
        if lines:
            cursor = lines[-1].seq
            continue
        job = await gateway.db.read(load_job, job_id)
        if job.status in FINAL_STATUSES:
            # The pump stores lines before the result, but they may have landed after our read.
            tail = await gateway.db.read(lambda s: load_log_lines(s, job_id, after=cursor, limit=STREAM_BATCH))
            if tail:
                continue
            end = {"status": job.status, "exit_code": job.exit_code, "reason": job.reason}
            yield ServerSentEvent(data=json.dumps(end), event="end")
            return
        await gateway.signals.wait(ticket, STREAM_POLL_S)


@router.get("/jobs/{job_id}/metrics", response_model=MetricPageOut)
async def job_metrics(
    job: VisibleJobDep,
    gateway: GatewayDep,
    after: Annotated[int, Query(ge=0, description="Only metrics with cursor greater than this.")] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> MetricPageOut:
    """The job's reported metrics in report order; page with ``after=next_after``."""
    points = await gateway.db.read(lambda s: load_metrics(s, job.id, after=after, limit=limit))
    metrics = [{"cursor": cursor, **asdict(point)} for cursor, point in points]
    return MetricPageOut.model_validate({"metrics": metrics, "next_after": points[-1][0] if points else after})


@router.get("/jobs/{job_id}/withheld", response_model=WithheldPageOut, responses={403: {"model": ErrorOut}})
async def job_withheld_lines(
    job: VisibleJobDep,
    gateway: GatewayDep,
    admin: AdminDep,
    after: Annotated[int, Query(ge=-1)] = -1,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> WithheldPageOut:
    """Admins: the originals of lines the log policy redacted or withheld, for audit (by raw line number)."""
    lines = await gateway.db.read(lambda s: load_withheld(s, job.id, after=after, limit=limit))
    next_after = lines[-1].record_seq if lines else after
    return WithheldPageOut.model_validate({"lines": [asdict(x) for x in lines], "next_after": next_after})
