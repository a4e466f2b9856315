"""The GPU-second ledger: idempotent charges, window sums that match a plain re-sum, rolling resets."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenahub.quota import GpuLedger, LedgerEntry, make_charge, resum_gpu_s

pytestmark = pytest.mark.unit


def entry(start, end, fraction=1.0, user="ada", key=None, competition="demo"):
    return LedgerEntry(user=user, competition=competition, source="job", source_id="j1", gpu_fraction=fraction,
                       start=start, end=end, key=key or f"k{start}-{end}-{fraction}-{user}")


def test_a_charge_costs_the_gpu_fraction_times_the_seconds():
    assert entry(0, 100, 0.25).gpu_seconds == 25.0
    assert entry(0, 10, 2.0).gpu_seconds == 20.0


def test_a_second_charge_with_the_same_key_is_refused_and_not_counted():
    ledger = GpuLedger()
    assert ledger.charge(entry(0, 10, key="job:j1@0")) is True
    assert ledger.charge(entry(0, 10, key="job:j1@0")) is False
    assert ledger.total_gpu_s("ada", "demo") == 10.0
    assert len(ledger) == 1


@pytest.mark.parametrize("since, until, expected", [
    (0, 100, 30.0),     # everything
    (5, 100, 25.0),     # cuts the first entry
    (0, 15, 15.0),      # cuts the second entry at its middle
    (12, 18, 6.0),      # inside one entry
    (30, 40, 0.0),      # after everything
    (20, 10, 0.0),      # empty window
])
def test_window_sums_count_only_the_overlap(since, until, expected):
    ledger = GpuLedger([entry(0, 10), entry(10, 20, key="b"), entry(20, 25, 2.0, key="c")])
    assert ledger.used_gpu_s("ada", "demo", since, until) == pytest.approx(expected)


def test_users_and_competitions_are_counted_apart():
    ledger = GpuLedger([entry(0, 10), entry(0, 10, user="bob"), entry(0, 10, competition="other", key="o")])
    assert ledger.used_gpu_s("ada", "demo", 0, 100) == 10.0
    assert ledger.used_gpu_s("carol", "demo", 0, 100) == 0.0


def test_make_charge_moves_a_cursor_and_keys_the_interval_by_its_start():
    charge = make_charge(user="ada", competition="demo", source="job", source_id="j1", gpu_fraction=2,
                         charged_until=100.0, until=110.5)
    assert (charge.start, charge.end, charge.gpu_seconds, charge.key) == (100.0, 110.5, 21.0, "job:j1@100000")
    assert make_charge(user="ada", competition="demo", source="job", source_id="j1", gpu_fraction=2,
                       charged_until=110.5, until=110.5) is None


def test_make_charge_refuses_an_unknown_source_with_the_valid_ones():
    with pytest.raises(ValueError, match="valid: job, notebook"):
        make_charge(user="a", competition="", source="gpu", source_id="x", gpu_fraction=1, charged_until=0, until=1)


def test_the_rolling_reset_is_when_enough_old_use_has_aged_out():
    hour = 3600.0
    ledger = GpuLedger([entry(0, hour, key="a"), entry(2 * hour, 3 * hour, key="b")])  # 2 GPU-hours
    now, window = 3 * hour, 10 * hour
    # The 2 GPU-hour limit is used up; the first second of entry a leaving the window frees it.
    reset = ledger.rolling_reset_at("ada", "demo", window_s=window, limit_gpu_s=2 * hour, now=now)
    assert reset == pytest.approx(window, abs=1.0)
    assert ledger.rolling_reset_at("ada", "demo", window_s=window, limit_gpu_s=5 * hour, now=now) == now


intervals = st.lists(
    st.tuples(st.floats(0, 10_000), st.floats(0, 500), st.sampled_from([0.125, 0.25, 0.5, 1.0, 2.0, 8.0])),
    max_size=60,
)


@settings(max_examples=200, deadline=None)
@given(intervals, st.floats(-100, 11_000), st.floats(0, 12_000), st.randoms(use_true_random=False))
def test_window_sums_equal_a_plain_re_sum_whatever_the_charge_order(raw, since, length, rng):
    entries = [entry(start, start + duration, fraction, key=f"k{i}") for i, (start, duration, fraction) in enumerate(raw)]
    shuffled = list(entries)
    rng.shuffle(shuffled)
    ledger = GpuLedger(shuffled)
    until = since + length
    assert ledger.used_gpu_s("ada", "demo", since, until) == pytest.approx(resum_gpu_s(entries, since, until), abs=1e-6)
    assert ledger.total_gpu_s("ada", "demo") == pytest.approx(sum(e.gpu_seconds for e in entries), abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.01, 30), min_size=1, max_size=40), st.lists(st.integers(0, 39), max_size=40))
def test_replaying_charges_from_any_committed_cursor_never_double_charges(steps, replays):
    # A charger advances a job's cursor; after a crash it resumes from the last committed cursor
    # and builds the same entries again. The total must equal the run time exactly once.
    cursor_times = [0.0]
    for step in steps:
        cursor_times.append(cursor_times[-1] + step)
    ledger = GpuLedger()
    charges = [
        make_charge(user="ada", competition="demo", source="job", source_id="j1", gpu_fraction=2.0,
                    charged_until=a, until=b)
        for a, b in zip(cursor_times, cursor_times[1:])
    ]
    for charge in charges:
        ledger.charge(charge)
    for index in replays:
        ledger.charge(charges[index % len(charges)])
    assert ledger.total_gpu_s("ada", "demo") == pytest.approx(2.0 * cursor_times[-1])


def test_incremental_totals_match_a_re_sum_of_a_long_random_ledger():
    rng = random.Random(7)
    ledger, entries, t = GpuLedger(), [], 0.0
    for i in range(5000):
        t += rng.uniform(0, 20)
        e = entry(t, t + rng.uniform(0, 60), rng.choice([0.25, 1.0, 4.0]), key=str(i))
        entries.append(e)
        ledger.charge(e)
    for since in (0.0, t / 3, t / 2, t - 100):
        assert ledger.used_gpu_s("ada", "demo", since, t) == pytest.approx(resum_gpu_s(entries, since, t))


def test_a_user_s_use_can_be_summed_over_all_competitions():
    ledger = GpuLedger([entry(0, 10), entry(0, 10, competition="other", key="o"), entry(0, 10, user="bob", key="b")])
    assert ledger.used_gpu_s("ada", None, 0, 100) == 20.0


def test_running_gpu_notebooks_are_read_from_the_hub_s_user_models():
    from arenahub.quota.notebooks import notebook_runs

    users = [
        {"name": "ada", "servers": {"": {"started": "2026-11-23T10:00:00.000000Z", "stopped": False,
                                         "user_options": {"profile": "gpu-quarter"}}}},
        {"name": "bob", "servers": {"": {"started": "2026-11-23T11:00:00Z", "user_options": {"profile": "cpu"}}}},
        {"name": "cy", "servers": {"": {"started": "2026-11-23T11:00:00Z", "user_options": {}}}},
        {"name": "dee", "servers": {"": {"started": None, "pending": "spawn"}}},
    ]
    runs = notebook_runs(users, {"gpu-quarter": 0.25, "cpu": 0.0}, default_fraction=0.5)
    assert [(r.user, r.gpu_fraction) for r in runs] == [("ada", 0.25), ("cy", 0.5)]
    assert runs[0].source_id == "ada/@2026-11-23T10:00:00.000000Z"
    assert runs[0].started_at == 1795428000.0
