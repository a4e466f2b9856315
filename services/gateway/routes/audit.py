"""Audit route: the append-only record of submissions, scores, policy decisions, quota refusals and admin actions (admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from arenahub.gateway.audit import audit_summary, load_audit_events
from arenahub.gateway.deps import AdminDep, GatewayDep
from arenahub.core.auditkinds import AUDIT_KINDS
from arenahub.gateway.schemas import ErrorOut

router = APIRouter(tags=["audit"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


class AuditEventOut(BaseModel):
    """One audit event; ``ts`` is Unix seconds."""

    id: int
    ts: float
    kind: str
    actor: str
    subject: str
    message: str
    detail: dict[str, Any]


class AuditPageOut(BaseModel):
    """Newest first; pass ``next_before`` as ``before`` for the next (older) page."""

    events: list[AuditEventOut]
    next_before: int | None


@router.get("/audit", response_model=AuditPageOut, responses={422: {"model": ErrorOut}})
async def list_audit(
    gateway: GatewayDep,
    admin: AdminDep,
    user: Annotated[str | None, Query(description="Only events by or about this user.")] = None,
    kind: Annotated[str | None, Query(description=f"One of {', '.join(AUDIT_KINDS)}.")] = None,
    since: Annotated[datetime | None, Query(description="Only events at or after this time (ISO 8601).")] = None,
    before: Annotated[int | None, Query(ge=1, description="Only events with a smaller id (paging).")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPageOut:
    """The audit trail, newest first (organisers and admins; participants get 403)."""
    since_ts = since.timestamp() if since is not None else None
    events = await gateway.db.read(lambda s: load_audit_events(
        s, user=user, kind=kind, since=since_ts, before_id=before, limit=limit
    ))
    out = [AuditEventOut.model_validate(audit_summary(e)) for e in events]
    return AuditPageOut(events=out, next_before=out[-1].id if len(out) == limit else None)
