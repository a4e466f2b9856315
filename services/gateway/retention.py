"""Which jobs' uploaded code the retention sweep may remove (pure: job facts, settings and time in; a verdict out).

The rule, kept simple on purpose (docs/competitions.md "Retention of uploaded code"): with
``retention.snapshot_days`` = N > 0, the upload of a job is removed once the job has been finished
for N days, unless the job is a leaderboard entry (a scored test job with ``on_leaderboard``, in
an open or a closed competition: every participant's best entry is one of these) or was scored
for a competition that is not closed yet. N = 0 keeps everything forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from arenahub.gateway.models import FINAL_STATUSES

DAY_S = 86400.0
SETTING = "ARENAHUB_GATEWAY_RETENTION__SNAPSHOT_DAYS"
# What the gateway makes (secrets.token_hex) fits this; a row with any other id (a '/', '..', a
# leading dot) is never turned into a path by the sweep.
_PLAIN_JOB_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_-]{0,31}$")


@dataclass(frozen=True)
class UploadFacts:
    """What the rule needs to know about one job whose upload is still kept."""

    job_id: str
    status: str
    created_at: float
    finished_at: float | None
    on_leaderboard: bool = False
    scored_for_open_competition: bool = False


def keep_reason(facts: UploadFacts, *, snapshot_days: float, now: float) -> str | None:
    """Why the job's upload must stay (a few words), or None when the sweep may remove it now."""
    if snapshot_days <= 0:
        return "retention is off (snapshot_days 0)"
    if facts.status not in FINAL_STATUSES:
        return "the job has not finished"
    if facts.on_leaderboard:
        return "a leaderboard entry"
    if facts.scored_for_open_competition:
        return "scored for a competition that is not closed"
    ended = facts.finished_at if facts.finished_at is not None else facts.created_at
    if now - ended < snapshot_days * DAY_S:
        return f"finished less than {snapshot_days:g} days ago"
    return None


def finished_before(snapshot_days: float, now: float) -> float:
    """The end time (Unix seconds) before which a finished job's upload has outlived ``snapshot_days``."""
    return now - snapshot_days * DAY_S


def is_plain_job_id(job_id: str) -> bool:
    """True for an id that is one safe path component (letters, digits, '-', '_'; at most 32)."""
    return bool(_PLAIN_JOB_ID.match(job_id))


def format_utc(ts: float) -> str:
    """``ts`` (Unix seconds) as '2026-11-23 22:05 UTC'."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def removed_message(job_id: str, code_sha256: str, removed_at: float) -> str:
    """What a participant or admin reads when asking for an upload the sweep removed."""
    return (
        f"The code snapshot of job {job_id} was removed on {format_utc(removed_at)} by the gateway's retention "
        f"rule: uploads of finished jobs are kept for {SETTING} days, except leaderboard entries and jobs "
        f"scored for a competition that is not closed. The job record keeps its SHA-256 ({code_sha256}); "
        "code with that hash can still be checked against it, but the gateway can no longer serve or re-run it."
    )
