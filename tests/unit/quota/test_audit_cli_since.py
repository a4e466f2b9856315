"""``arenahub audit --since`` reads ISO times and ages."""

from datetime import datetime, timezone

import pytest
import typer

from arenahub.cli.audit import parse_since

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 12, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, expected", [
    ("30m", datetime(2026, 11, 23, 11, 30, tzinfo=timezone.utc)),
    ("12h", datetime(2026, 11, 23, 0, tzinfo=timezone.utc)),
    ("2d", datetime(2026, 11, 21, 12, tzinfo=timezone.utc)),
    ("1w", datetime(2026, 11, 16, 12, tzinfo=timezone.utc)),
    ("2026-11-20T08:00", datetime(2026, 11, 20, 8, tzinfo=timezone.utc)),
    ("2026-11-20T08:00+01:00", datetime(2026, 11, 20, 7, tzinfo=timezone.utc)),
])
def test_since_reads_ages_and_iso_times_in_utc(text, expected):
    assert parse_since(text, NOW) == expected


def test_since_names_both_forms_when_it_cannot_read_the_value():
    with pytest.raises(typer.BadParameter, match="30m, 12h, 7d or 2w"):
        parse_since("yesterday", NOW)
