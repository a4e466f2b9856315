"""Quota periods as Unix-second bounds: the calendar week and the UTC day (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

DAY_S = 24 * 3600.0
WEEK_S = 7 * DAY_S


def week_bounds(now: float) -> tuple[float, float]:
    """[start, end) of the calendar week holding ``now``: Monday 00:00 UTC to the next Monday 00:00 UTC."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    monday = (moment - timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday.timestamp(), (monday + timedelta(days=7)).timestamp()


def day_bounds(now: float) -> tuple[float, float]:
    """[start, end) of the UTC day holding ``now``."""
    moment = datetime.fromtimestamp(now, timezone.utc)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.timestamp(), (midnight + timedelta(days=1)).timestamp()


def format_utc(ts: float) -> str:
    """``ts`` as people read it in a message: 'Monday 2026-11-30 00:00 UTC'."""
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%A %Y-%m-%d %H:%M UTC")


def iso_utc(ts: float | None) -> str | None:
    """``ts`` as ISO 8601 in UTC (what the API returns), None stays None."""
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()
