"""Notification routes: read and set where your job and quota notifications go (webhook, e-mail, which events)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from pydantic import BaseModel, Field, field_validator

from arenahub.gateway.deps import GatewayDep, PrincipalDep
from arenahub.gateway.notifystore import load_destination, load_notify_target, save_notify_target
from arenahub.gateway.quota_settings import NOTIFY_EVENTS
from arenahub.gateway.schemas import ErrorOut

router = APIRouter(tags=["notifications"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


class NotificationsIn(BaseModel):
    """Your notification choices; empty webhook_url/email turn that channel off."""

    webhook_url: str | None = Field(None, max_length=2000, description="http(s) URL that gets a JSON POST per event.")
    email: str | None = Field(None, max_length=320, description="Address that gets an e-mail per event.")
    events: list[str] = Field(default_factory=lambda: list(NOTIFY_EVENTS),
                              description=f"Any of {', '.join(NOTIFY_EVENTS)}.")

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http:// or https:// URL")
        return value

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None and (value.count("@") != 1 or value.startswith("@") or value.endswith("@") or
                                  any(c.isspace() for c in value)):
            raise ValueError(f"{value!r} is not an e-mail address like name@example.org")
        return value

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(NOTIFY_EVENTS))
        if unknown:
            raise ValueError(f"unknown events {', '.join(unknown)}; valid: {', '.join(NOTIFY_EVENTS)}")
        return sorted(set(value), key=NOTIFY_EVENTS.index)


class NotificationsOut(BaseModel):
    """Where your notifications go now; ``is_default`` when you have not chosen (admin defaults apply)."""

    webhook_url: str | None
    email: str | None
    events: list[str]
    is_default: bool
    email_enabled: bool = Field(description="False when the site has no SMTP server: e-mail is not sent.")


@router.get("/notifications", response_model=NotificationsOut)
async def show_notifications(gateway: GatewayDep, principal: PrincipalDep) -> NotificationsOut:
    """Where your job and quota notifications go."""
    settings = gateway.settings.notify

    def load(session) -> NotificationsOut:  # type: ignore[no-untyped-def]
        destination = load_destination(session, principal.name, settings)
        return NotificationsOut(
            webhook_url=destination.webhook_url, email=destination.email, events=list(destination.events),
            is_default=load_notify_target(session, principal.name) is None, email_enabled=bool(settings.smtp_host),
        )

    return await gateway.db.read(load)


@router.put("/notifications", response_model=NotificationsOut, responses={422: {"model": ErrorOut}})
async def set_notifications(
    gateway: GatewayDep, principal: PrincipalDep, choice: NotificationsIn
) -> NotificationsOut:
    """Set your webhook, e-mail and events (replaces earlier choices)."""
    await gateway.db.write(lambda s: save_notify_target(
        s, principal.name, webhook_url=choice.webhook_url, email=choice.email, events=choice.events, now=time.time()
    ))
    return await show_notifications(gateway, principal)
