"""Settings groups for quotas and notifications (``ARENAHUB_GATEWAY_QUOTA__*``, ``ARENAHUB_GATEWAY_NOTIFY__*``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from arenahub.core.quota_config import CompetitionWindow, QuotaConfig

NOTIFY_EVENTS = ("job_end", "job_failed", "low_quota")


class QuotaSettings(BaseModel):
    """Site-wide quota defaults and how often GPU use is charged.

    A job on a competition's dataset must fit that competition's ``quotas`` and ``window`` and
    also ``limits`` here (the stricter refusal wins); every other job follows ``limits`` and
    ``window`` here; a GPU notebook spawn must fit ``limits`` and every open competition.
    """

    limits: QuotaConfig = Field(
        default_factory=QuotaConfig,
        description='Default per-user limits, e.g. {"gpu_hours": 20, "period": "week"}; empty means unlimited.',
    )
    window: CompetitionWindow = Field(
        default_factory=CompetitionWindow, description="When jobs outside any competition may be submitted."
    )
    charge_interval_s: float = Field(
        15.0, gt=0,
        description="Seconds between charges of running jobs. A job stops at most about this long after its "
        "user's budget runs out; smaller costs more database writes.",
    )
    notebook_profiles: dict[str, float] = Field(
        default_factory=dict,
        description='Notebook profile slug -> GPU fraction, e.g. {"gpu-quarter": 0.25}. The gateway asks the hub '
        "which servers run every charge interval and charges GPU profiles fraction x seconds. Empty (and "
        "notebook_default_fraction 0) turns notebook charging off. The embedded hub fills it from its profiles.",
    )
    notebook_default_fraction: float = Field(
        0.0, ge=0, description="GPU fraction of a running server started without a profile choice.",
    )


class NotifySettings(BaseModel):
    """How notifications leave the gateway; users choose their own webhook and e-mail through /notifications."""

    smtp_host: str = Field("", description="SMTP server for e-mail notifications; empty turns e-mail off.")
    smtp_port: int = Field(25, gt=0, description="SMTP port (25, or 587 with smtp_starttls).")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS before sending.")
    smtp_username: str = Field("", description="SMTP login; empty sends without logging in.")
    smtp_password: str = Field("", description="SMTP password (with smtp_username).")
    mail_from: str = Field("arenahub@localhost", description="The From: address of notification e-mails.")
    default_webhook_url: str = Field(
        "", description="Webhook that gets the notifications of users who set none themselves; empty: none."
    )
    default_events: list[str] = Field(
        default_factory=lambda: list(NOTIFY_EVENTS),
        description=f"Events a user gets until they choose: any of {', '.join(NOTIFY_EVENTS)}.",
    )
    timeout_s: float = Field(10.0, gt=0, description="Seconds to wait for a webhook or the SMTP server.")
