"""Loading and saving notification choices, and remembering which notices went out."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from arenahub.gateway.notify import Destination, resolve_destination
from arenahub.gateway.quota_settings import NotifySettings
from arenahub.gateway.quotamodels import NotifySent, NotifyTarget


def load_notify_target(session: Session, user: str) -> NotifyTarget | None:
    """The user's own notification choices, None when they made none."""
    return session.get(NotifyTarget, user)


def load_destination(session: Session, user: str, settings: NotifySettings) -> Destination:
    """Where ``user``'s notices go: their choices, or the admin defaults."""
    target = session.get(NotifyTarget, user)
    if target is None:
        return resolve_destination(settings, webhook_url=None, email=None, events=None)
    return resolve_destination(settings, webhook_url=target.webhook_url, email=target.email, events=target.events)


def save_notify_target(
    session: Session, user: str, *, webhook_url: str | None, email: str | None, events: list[str], now: float
) -> NotifyTarget:
    """Set ``user``'s notification choices (replacing earlier ones)."""
    target = session.get(NotifyTarget, user)
    if target is None:
        target = NotifyTarget(user=user, webhook_url=webhook_url, email=email, events=list(events), updated_at=now)
        session.add(target)
    else:
        target.webhook_url, target.email, target.events, target.updated_at = webhook_url, email, list(events), now
    session.flush()
    return target


def claim_notice(session: Session, key: str, now: float) -> bool:
    """True the first time ``key`` is claimed (the caller then sends that notice), False ever after."""
    if session.scalar(select(NotifySent.id).where(NotifySent.key == key)) is not None:
        return False
    session.add(NotifySent(key=key, sent_at=now))
    session.flush()
    return True
