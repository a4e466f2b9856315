"""Notifications on job end, job failure and low quota: build the message (pure), send by webhook and e-mail (I/O)."""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx

from arenahub.gateway.quota_settings import NotifySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    """One notification: ``event`` (job_end, job_failed, low_quota), who it is for, a subject, a text and data."""

    event: str
    user: str
    subject: str
    text: str
    data: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The JSON body a webhook receives."""
        return {"event": self.event, "user": self.user, "subject": self.subject, "text": self.text, **self.data}


@dataclass(frozen=True)
class Destination:
    """Where a user's notices go: a webhook URL, an e-mail address, and the events they want."""

    webhook_url: str | None
    email: str | None
    events: tuple[str, ...]


def make_job_notice(job: dict[str, Any]) -> Notice:
    """The notice for a finished job (``job_summary`` values): job_end, or job_failed for failed/timeout/lost."""
    status = job["status"]
    failed = status in ("failed", "timeout", "lost")
    took = (job["finished_at"] - job["started_at"]) if job.get("started_at") and job.get("finished_at") else None
    duration = f" after {took:.0f} s" if took is not None else ""
    subject = f"arenahub: your {job['kind']} job {job['id']} {status}"
    text = f"Your {job['kind']} job {job['id']} ended with status {status}{duration}: {job.get('reason') or status}."
    return Notice(
        "job_failed" if failed else "job_end", job["user"], subject, text,
        {"job_id": job["id"], "status": status, "exit_code": job.get("exit_code"), "kind": job["kind"]},
    )


def make_low_quota_notice(user: str, *, left_gpu_s: float, budget_gpu_s: float, resets: str) -> Notice:
    """The notice that ``user`` has little GPU time left."""
    text = (f"You have {left_gpu_s / 3600:.2f} of your {budget_gpu_s / 3600:g} GPU-hours left{resets}. "
            "Jobs stop when none is left.")
    return Notice("low_quota", user, "arenahub: your GPU quota is running low", text,
                  {"left_gpu_hours": round(left_gpu_s / 3600, 4), "budget_gpu_hours": budget_gpu_s / 3600})


def resolve_destination(
    settings: NotifySettings, *, webhook_url: str | None, email: str | None, events: list[str] | None
) -> Destination:
    """The user's own choices, falling back to the admin defaults in the settings."""
    return Destination(
        webhook_url=webhook_url or settings.default_webhook_url or None,
        email=email or None,
        events=tuple(events if events is not None else settings.default_events),
    )


async def send_notice(settings: NotifySettings, destination: Destination, notice: Notice) -> list[str]:
    """Send ``notice`` to the destination's webhook and e-mail; returns the channels that worked.

    A failing channel is logged for the operator and does not stop the other.
    """
    if notice.event not in destination.events:
        return []
    sent = []
    if destination.webhook_url:
        try:
            async with httpx.AsyncClient(timeout=settings.timeout_s) as client:
                reply = await client.post(destination.webhook_url, json=notice.payload())
            reply.raise_for_status()
            sent.append("webhook")
        except httpx.HTTPError as exc:
            log.warning("Webhook notification %s for %s to %s failed: %s", notice.event, notice.user,
                        destination.webhook_url, exc)
    if destination.email and settings.smtp_host:
        try:
            await asyncio.to_thread(_send_mail, settings, destination.email, notice)
            sent.append("email")
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("E-mail notification %s for %s to %s failed: %s", notice.event, notice.user,
                        destination.email, exc)
    return sent


def _send_mail(settings: NotifySettings, to: str, notice: Notice) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.mail_from, to, notice.subject
    message.set_content(notice.text)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout_s) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)
