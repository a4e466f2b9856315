"""The append-only audit trail: submissions, scores, policy decisions, quota refusals and admin actions.

Only ``save_audit_event`` writes, and only INSERTs; nothing in the gateway updates or deletes an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arenahub.core.auditkinds import AUDIT_KINDS
from arenahub.core.errors import UnprocessableInput
from arenahub.gateway.quotamodels import AuditEvent


def save_audit_event(
    session: Session, *, kind: str, actor: str, now: float, subject: str = "", message: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event in the caller's transaction; raises UnprocessableInput for an unknown ``kind``."""
    check_audit_kind(kind)
    event = AuditEvent(ts=now, kind=kind, actor=actor, subject=subject, message=message, detail=dict(detail or {}))
    session.add(event)
    session.flush()
    return event


def check_audit_kind(kind: str) -> str:
    """``kind`` if it is an audit kind; raises UnprocessableInput listing the valid ones."""
    if kind not in AUDIT_KINDS:
        raise UnprocessableInput(f"No audit kind {kind!r}. Valid: {', '.join(AUDIT_KINDS)}.", reason="audit-kind-invalid")
    return kind


def load_audit_events(
    session: Session, *, user: str | None = None, kind: str | None = None, since: float | None = None,
    before_id: int | None = None, limit: int = 100,
) -> Sequence[AuditEvent]:
    """The newest ``limit`` events, optionally by or about ``user``, of one ``kind``, at or after ``since``.

    ``before_id`` pages backwards: only events with a smaller id.
    """
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if user is not None:
        query = query.where((AuditEvent.actor == user) | (AuditEvent.subject == user))
    if kind is not None:
        query = query.where(AuditEvent.kind == check_audit_kind(kind))
    if since is not None:
        query = query.where(AuditEvent.ts >= since)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return session.scalars(query).all()


def audit_summary(event: AuditEvent) -> dict[str, Any]:
    """The event as plain values (what GET /audit returns)."""
    return {
        "id": event.id, "ts": event.ts, "kind": event.kind, "actor": event.actor,
        "subject": event.subject, "message": event.message, "detail": event.detail,
    }
