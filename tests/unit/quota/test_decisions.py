"""Quota decisions: windows (403), run time, GPU budget, concurrency and submission counts (429) with reset times."""

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from arenahub.core.quota_config import CompetitionWindow, QuotaConfig
from arenahub.quota import (
    Usage,
    day_bounds,
    decide_spawn,
    decide_submission,
    gpu_period,
    is_low,
    must_stop,
    week_bounds,
)

pytestmark = pytest.mark.unit

HOUR = 3600.0
# Wednesday 2026-11-25 12:00 UTC
NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc).timestamp()
OPEN = CompetitionWindow()


def submit(config, usage=Usage(), *, kind="train", gpus=1, time_limit_s=HOUR, window=OPEN, now=NOW):
    return decide_submission(config, window, usage, kind=kind, gpus=gpus, time_limit_s=time_limit_s, now=now)


def test_the_calendar_week_runs_monday_to_monday_utc():
    start, end = week_bounds(NOW)
    assert datetime.fromtimestamp(start, timezone.utc) == datetime(2026, 11, 23, tzinfo=timezone.utc)
    assert datetime.fromtimestamp(end, timezone.utc) == datetime(2026, 11, 30, tzinfo=timezone.utc)
    assert day_bounds(NOW)[1] == datetime(2026, 11, 26, tzinfo=timezone.utc).timestamp()


def test_a_rolling_period_has_no_fixed_reset():
    config = QuotaConfig(gpu_hours=5, period="rolling", rolling_window_hours=24)
    assert gpu_period(config, NOW) == (NOW - 24 * HOUR, None)


def test_without_limits_everything_is_allowed():
    assert submit(QuotaConfig(), Usage(gpu_seconds=1e9, gpus_active=99, submissions_total=999), kind="test").allowed


def test_a_user_at_budget_is_refused_with_429_and_the_weekly_reset():
    config = QuotaConfig(gpu_hours=2)
    reset = week_bounds(NOW)[1]
    decision = submit(config, Usage(gpu_seconds=2 * HOUR, gpu_reset_at=reset))
    assert (decision.allowed, decision.status, decision.reason, decision.resets_at) == (False, 429, "quota-gpu-hours", reset)
    assert "2 GPU-hours this week" in decision.message and "Monday 2026-11-30 00:00 UTC" in decision.message


def test_a_user_with_budget_left_may_submit_a_run_longer_than_what_is_left():
    # The run is stopped when the budget runs out; refusing it up front would waste the rest.
    assert submit(QuotaConfig(gpu_hours=2), Usage(gpu_seconds=1.9 * HOUR), time_limit_s=10 * HOUR).allowed


@pytest.mark.parametrize("window, now, reason, resets_at", [
    (CompetitionWindow(opens_at=datetime(2026, 12, 1)), NOW, "competition-not-open",
     datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp()),
    (CompetitionWindow(closes_at=datetime(2026, 11, 25, 12)), NOW, "competition-closed", None),
])
def test_a_closed_window_refuses_with_403(window, now, reason, resets_at):
    decision = submit(QuotaConfig(), window=window, now=now)
    assert (decision.status, decision.reason, decision.resets_at) == (403, reason, resets_at)


def test_the_window_is_open_from_its_first_moment_to_just_before_it_closes():
    window = CompetitionWindow(opens_at=datetime(2026, 11, 25, 12), closes_at=datetime(2026, 11, 25, 13))
    assert submit(QuotaConfig(), window=window, now=NOW).allowed
    assert submit(QuotaConfig(), window=window, now=NOW + HOUR - 0.001).allowed


def test_a_window_that_closes_before_it_opens_is_an_error():
    with pytest.raises(ValidationError, match="must be after opens_at"):
        CompetitionWindow(opens_at=datetime(2026, 12, 2), closes_at=datetime(2026, 12, 1))


def test_a_run_longer_than_the_per_run_limit_is_refused_with_the_limit():
    decision = submit(QuotaConfig(max_run_hours=2), time_limit_s=3 * HOUR)
    assert (decision.reason, decision.status) == ("quota-run-time", 429)
    assert "at most 2 hours" in decision.message and "7200" in decision.message
    assert submit(QuotaConfig(max_run_hours=2), time_limit_s=2 * HOUR).allowed


@pytest.mark.parametrize("active, asked, allowed", [(0, 4, True), (2, 2, True), (3, 2, False), (0, 5, False)])
def test_concurrent_gpus_count_queued_and_running_jobs(active, asked, allowed):
    decision = submit(QuotaConfig(max_concurrent_gpus=4), Usage(gpus_active=active), gpus=asked)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.reason == "quota-concurrent-gpus"


def test_test_submissions_are_counted_per_utc_day_with_midnight_as_reset():
    config = QuotaConfig(submissions_per_day=3)
    refused = submit(config, Usage(submissions_today=3), kind="test")
    assert (refused.reason, refused.resets_at) == ("quota-submissions-daily", day_bounds(NOW)[1])
    assert submit(config, Usage(submissions_today=2), kind="test").allowed
    assert submit(config, Usage(submissions_today=3), kind="train").allowed  # training is not a submission


def test_the_total_submission_limit_has_no_reset():
    decision = submit(QuotaConfig(submissions_total=10), Usage(submissions_total=10), kind="test")
    assert (decision.reason, decision.resets_at) == ("quota-submissions-total", None)


def test_cpu_notebooks_spawn_even_without_gpu_time_left():
    config, spent = QuotaConfig(gpu_hours=1), Usage(gpu_seconds=HOUR)
    assert decide_spawn(config, spent, gpu_fraction=0).allowed
    assert decide_spawn(config, spent, gpu_fraction=0.25).reason == "quota-gpu-hours"
    assert "start a GPU notebook" in decide_spawn(config, spent, gpu_fraction=0.25).message


def test_running_jobs_stop_when_the_budget_is_used_up_and_low_quota_warns_before():
    config = QuotaConfig(gpu_hours=10, low_quota_fraction=0.1)
    assert not must_stop(config, Usage(gpu_seconds=9.99 * HOUR))
    assert must_stop(config, Usage(gpu_seconds=10 * HOUR))
    assert is_low(config, Usage(gpu_seconds=9.5 * HOUR)) and not is_low(config, Usage(gpu_seconds=8 * HOUR))
    assert not must_stop(QuotaConfig(), Usage(gpu_seconds=1e12))
