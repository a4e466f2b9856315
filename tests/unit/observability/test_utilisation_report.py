"""Tests of arenahub.gateway.observability_report: allocated vs used GPU-hours per profile, user, competition."""

import pytest

from arenahub.gateway.observability_report import (
    Holding,
    UsageSample,
    build_utilisation,
    format_csv,
    holdings_from_samples,
    parse_since,
)

pytestmark = pytest.mark.unit

H = 3600.0


def sample(key, t, used, allocated=0.25, kind="notebook", user="ada", profile="gpu-quarter", competition="faces"):
    return UsageSample(kind, key, user, competition, profile, t, 600.0, allocated, used)


def rows_by(rows, dimension):
    return {r.key: r for r in rows if r.dimension == dimension}


def test_a_job_on_two_gpus_for_three_hours_is_six_allocated_gpu_hours():
    rows = build_utilisation([Holding("job", "j1", "ada", "faces", "job-2gpu", 2.0, 0, 3 * H)], [], 0, 10 * H)
    job = rows_by(rows, "profile")["job-2gpu"]
    assert job.allocated_gpu_h == pytest.approx(6.0)
    assert job.utilisation is None  # nothing was sampled: unknown, not zero


def test_holdings_are_clipped_to_the_report_window():
    rows = build_utilisation([Holding("job", "j1", "ada", "", "job-1gpu", 1.0, -2 * H, 2 * H)], [], 0, 10 * H)
    assert rows_by(rows, "user")["ada"].allocated_gpu_h == pytest.approx(2.0)
    assert "(none)" in rows_by(rows, "competition")


def test_utilisation_is_used_over_sampled_allocation_per_user():
    samples = [sample("ada/", 600 * i, used=0.1) for i in range(1, 7)] + [
        sample("bob/", 600 * i, used=0.0, user="bob") for i in range(1, 7)]
    rows = build_utilisation(holdings_from_samples(samples), samples, 0, H)
    users = rows_by(rows, "user")
    assert users["ada"].allocated_gpu_h == pytest.approx(0.25)
    assert users["ada"].utilisation == pytest.approx(0.4)
    assert users["bob"].utilisation == 0.0
    assert rows_by(rows, "profile")["gpu-quarter"].utilisation == pytest.approx(0.2)


def test_samples_with_unknown_busy_figures_do_not_dilute_utilisation():
    samples = [sample("ada/", 600, used=0.25), sample("ada/", 1200, used=None)]
    row = rows_by(build_utilisation(holdings_from_samples(samples), samples, 0, H), "user")["ada"]
    assert row.allocated_gpu_h == pytest.approx(2 * 0.25 / 6)
    assert row.utilisation == pytest.approx(1.0)


def test_csv_has_a_header_and_leaves_unknown_utilisation_empty():
    rows = build_utilisation([Holding("job", "j1", "ada", "faces", "job-1gpu", 1.0, 0, H)], [], 0, H)
    lines = format_csv(rows).splitlines()
    assert lines[0] == "dimension,key,allocated_gpu_hours,sampled_gpu_hours,used_gpu_hours,utilisation"
    assert lines[1] == "profile,job-1gpu,1.0000,0.0000,0.0000,"


@pytest.mark.parametrize("text, seconds", [("7d", 7 * 86400), ("36h", 36 * H), ("90m", 5400), ("1.5h", 5400)])
def test_spans_are_read_with_their_unit(text, seconds):
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["7", "week", "-3d", "d"])
def test_a_span_without_a_unit_is_refused_with_the_valid_units(text):
    with pytest.raises(ValueError, match="7d, 36h, 90m or 3600s"):
        parse_since(text)
