"""Settings of the retention sweep (``ARENAHUB_GATEWAY_RETENTION__*``): how long uploaded code is kept."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RetentionSettings(BaseModel):
    """How long each job's uploaded code (``<state_dir>/jobs/<id>/``) is kept after the job ends."""

    snapshot_days: float = Field(
        0.0, ge=0,
        description="Days after a job finished that its uploaded code (code.tar.gz and the unpacked copy) "
        "is kept; then the sweep removes it and GET /jobs/{id}/snapshot and re-runs answer 410. "
        "0 keeps every upload forever (the default: nothing is removed unless an operator asks). "
        "Never removed, whatever the age: jobs still queued or running, leaderboard entries (scored "
        "test jobs on_leaderboard, open or closed competition), and every job scored for a competition "
        "that is not closed yet. Re-runs need the snapshot: pick a value longer than disputes last.",
    )
    sweep_interval_s: float = Field(
        3600.0, gt=0, description="Seconds between sweeps (the first runs at gateway start).",
    )
