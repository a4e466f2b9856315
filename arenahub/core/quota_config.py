"""The quota section of a competition (and the gateway's site default): GPU-hours, run time, concurrency, submissions."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

QuotaPeriod = Literal["week", "rolling"]


class QuotaConfig(BaseModel):
    """Per-user limits inside one competition; empty (null) means no limit of that kind.

    GPU time is counted in GPU-seconds: a job on 2 whole GPUs for an hour costs 2 GPU-hours,
    a notebook on a 0.25 slice for an hour costs 0.25 GPU-hours.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    gpu_hours: float | None = Field(
        None, gt=0,
        description="GPU-hours each participant may use per period (jobs and GPU notebooks together). "
        "Empty means unlimited. A job that reaches it is stopped with a notice in its log.",
    )
    period: QuotaPeriod = Field(
        "week",
        description="'week': the calendar week, Monday 00:00 UTC to Monday 00:00 UTC. "
        "'rolling': the last rolling_window_hours hours, so old use frees up continuously.",
    )
    rolling_window_hours: float = Field(
        168.0, gt=0, description="Length of the rolling window in hours (period: rolling only)."
    )
    max_run_hours: float | None = Field(
        None, gt=0, description="Longest wall-clock time limit one train or test run may ask for, in hours.",
    )
    max_concurrent_gpus: int | None = Field(
        None, ge=1, description="Most whole GPUs one participant's queued and running jobs may ask for at once.",
    )
    submissions_per_day: int | None = Field(
        None, ge=1, description="Test submissions per participant per UTC day (00:00 to 00:00 UTC).",
    )
    submissions_total: int | None = Field(
        None, ge=1, description="Test submissions per participant over the whole competition.",
    )
    low_quota_fraction: float = Field(
        0.1, ge=0, lt=1,
        description="Send the 'low quota' notification once when less than this share of gpu_hours is left; "
        "0 turns it off.",
    )

    @property
    def gpu_seconds(self) -> float | None:
        """The GPU budget per period in GPU-seconds, None when unlimited."""
        return None if self.gpu_hours is None else self.gpu_hours * 3600.0

    @property
    def window_s(self) -> float:
        """The rolling window in seconds."""
        return self.rolling_window_hours * 3600.0


class CompetitionWindow(BaseModel):
    """When a competition accepts submissions; an empty end means it stays open."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    opens_at: datetime | None = Field(None, description="First moment submissions are accepted (ISO 8601, UTC if no zone).")
    closes_at: datetime | None = Field(None, description="Moment submissions stop being accepted (ISO 8601, UTC if no zone).")

    @field_validator("opens_at", "closes_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value

    @model_validator(mode="after")
    def _ordered(self) -> CompetitionWindow:
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            raise ValueError(f"closes_at ({self.closes_at.isoformat()}) must be after opens_at ({self.opens_at.isoformat()})")
        return self

    @property
    def opens_ts(self) -> float | None:
        """opens_at as Unix seconds, None when unset."""
        return None if self.opens_at is None else self.opens_at.timestamp()

    @property
    def closes_ts(self) -> float | None:
        """closes_at as Unix seconds, None when unset."""
        return None if self.closes_at is None else self.closes_at.timestamp()
