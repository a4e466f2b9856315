"""Preemption planning (benchmarks.preemption_model) and the training week's preemption what-if that uses it."""

import math
import random

import pytest

from arenahub.gateway.placement import BINPACK, Cluster, PlacementError
from benchmarks.preemption_model import (
    Checkpointing,
    PreemptibleRun,
    choose_victims,
    frees_at,
    lost_work_s,
    preemption_target,
    saved_progress_s,
)
from benchmarks.training_preemption import PreemptionWhatIf, simulate_training_whatif
from benchmarks.utilisation_week import TrainJob, declare_limits, make_jobs, simulate_training

pytestmark = pytest.mark.unit

TEN_MIN = Checkpointing(every_s=600.0, restart_cost_s=60.0)


def run(job_id, gpus, started_at=0.0, node="n", checkpointing=TEN_MIN, resumed=False):
    return PreemptibleRun(job_id, node, gpus, started_at, checkpointing, resumed)


@pytest.mark.parametrize("now, resumed, saved", [
    (599.0, False, 0.0),
    (600.0, False, 600.0),
    (1799.0, False, 1200.0),
    (659.0, True, 0.0),      # a resumed run reloads for 60 s before its work counts
    (660.0, True, 600.0),
])
def test_a_run_has_saved_its_last_whole_checkpoint_interval(now, resumed, saved):
    assert saved_progress_s(run("a", 1, resumed=resumed), now) == saved


def test_work_since_the_last_checkpoint_and_the_reload_are_lost():
    assert lost_work_s(run("a", 2), 1500.0) == 300.0
    assert lost_work_s(run("a", 2, resumed=True), 1230.0) == 630.0  # reload 60 s + 570 s since the checkpoint
    assert lost_work_s(run("a", 2, checkpointing=None), 1500.0) == 1500.0
    with pytest.raises(PlacementError, match="starts at 100"):
        saved_progress_s(run("a", 1, started_at=100.0), 50.0)


def test_checkpointing_settings_must_be_positive():
    with pytest.raises(PlacementError, match="more than 0"):
        Checkpointing(every_s=0.0)
    with pytest.raises(PlacementError, match="0 or more"):
        Checkpointing(every_s=60.0, restart_cost_s=-1.0)


def test_victims_are_the_runs_that_lose_the_least_work():
    runs = [
        run("a", 2, started_at=-900.0),   # 300 s unsaved x 2 GPUs = 600 GPU-s
        run("b", 1, started_at=-500.0),   # 500 GPU-s
        run("c", 1, started_at=-700.0),   # 100 GPU-s
        run("d", 4, checkpointing=None),  # saves nothing: never a victim
        run("e", 2, started_at=-600.0, node="other"),
    ]
    assert choose_victims(runs, "n", free_gpus=0, needed_gpus=1, now=0.0) == ("c",)
    assert choose_victims(runs, "n", free_gpus=0, needed_gpus=2, now=0.0) == ("a",)  # ties with b+c: fewer runs
    assert choose_victims(runs, "n", free_gpus=1, needed_gpus=3, now=0.0) == ("a",)
    assert choose_victims(runs, "n", free_gpus=0, needed_gpus=4, now=0.0) == ("a", "b", "c")
    assert choose_victims(runs, "n", free_gpus=0, needed_gpus=5, now=0.0) is None
    assert choose_victims(runs, "n", free_gpus=2, needed_gpus=2, now=0.0) == ()


def test_runs_younger_than_the_minimum_run_are_spared():
    runs = [run("young", 2, started_at=-300.0), run("old", 2, started_at=-1000.0)]
    assert choose_victims(runs, "n", 0, 2, now=0.0) == ("young",)  # least lost work
    assert choose_victims(runs, "n", 0, 2, now=0.0, min_run_s=660.0) == ("old",)
    assert choose_victims(runs, "n", 0, 4, now=0.0, min_run_s=660.0) is None


def test_the_node_whose_gpus_free_up_soonest_is_preempted_first():
    cluster = (
        Cluster.from_sizes({"a": 8, "b": 8, "small": 4})
        .allocate("a1", "ann", "a", range(8), ends_by=500.0)
        .allocate("b1", "bob", "b", range(4), ends_by=100.0)
        .allocate("b2", "bob", "b", range(4, 8), ends_by=9000.0)
    )
    assert [frees_at(cluster, n, 8, 0.0) for n in ("a", "b", "small")] == [500.0, 9000.0, math.inf]
    assert frees_at(cluster, "b", 4, 0.0) == 100.0
    runs = [run("a1", 8, node="a"), run("b1", 4, node="b"), run("b2", 4, node="b")]
    assert preemption_target(cluster, runs, 8, now=0.0) == ("a", ("a1",))
    assert preemption_target(cluster, runs[1:], 8, now=0.0) == ("b", ("b1", "b2"))
    assert preemption_target(cluster, [run("b1", 4, node="b")], 8, now=0.0) is None


def week_args(week_s=10800):
    return {"seed": 1, "step_s": 60, "week_s": week_s, "duty": 0.97}


def test_without_preemption_the_whatif_reproduces_the_training_week():
    jobs = [j for j in declare_limits(random.Random(3), make_jobs(random.Random(2), 20, 8.0)) if j.arrive_s < 86400]
    expected = simulate_training(jobs, BINPACK, {"a": 8, "b": 8})
    week = 7 * 24 * 3600
    for whatif in (None, PreemptionWhatIf("nobody checkpoints", 0.0, True, 1800.0)):
        got = simulate_training_whatif(jobs, BINPACK, {"a": 8, "b": 8}, whatif, **week_args(week))
        for key in ("allocation", "contended_allocation", "contended_busy_of_capacity", "wait_p50_min",
                    "wait_p95_min", "started"):
            assert got[key] == expected[key], key
        assert (got["preemptions"], got["lost_gpu_h"]) == (0, 0.0)


def test_a_job_backfilled_past_the_reservation_is_preempted_when_the_reservation_comes_due():
    jobs = [
        TrainJob("a", "ann", 4, 0.0, 3600.0, 3600.0),
        TrainJob("big", "bob", 8, 60.0, 600.0, 600.0),      # blocked: node n is promised to it at 3600 s
        TrainJob("c", "cat", 4, 120.0, 7200.0, 7200.0),     # runs past the promise: backfills only if preemptible
    ]
    whatif = PreemptionWhatIf("(i)", 1.0, backfill_past_reservation=True)
    r = simulate_training_whatif(jobs, BINPACK, {"n": 8}, whatif, **week_args(14400))
    # c ran 120 s..3600 s, saved 3000 s, lost 480 s; it reloads 60 s when it resumes at 4200 s.
    assert (r["preemptions"], r["jobs_preempted"]) == (1, 1)
    assert r["lost_gpu_h"] == pytest.approx(4 * (480 + 60) / 3600)
    assert r["finished"] == 3
    plain = simulate_training_whatif(jobs, BINPACK, {"n": 8}, None, **week_args(14400))
    assert plain["preemptions"] == 0 and plain["finished"] == 3  # c waits for big instead


def test_a_whole_node_job_that_waited_too_long_preempts_the_jobs_behind_it():
    jobs = [
        TrainJob("a", "ann", 4, 0.0, 7200.0, 7200.0),
        TrainJob("x", "xia", 4, 0.0, 7200.0, 7200.0),
        TrainJob("big", "bob", 8, 60.0, 600.0, 600.0),
    ]
    whatif = PreemptionWhatIf("(ii)", 1.0, preempt_after_s=600.0)
    r = simulate_training_whatif(jobs, BINPACK, {"n": 8}, whatif, **week_args(21600))
    # At 720 s big has waited 660 s; a and x have run 720 s (>= 660 s), saved 600 s, lose 120 s each.
    assert (r["preemptions"], r["jobs_preempted"]) == (2, 2)
    assert r["lost_gpu_h"] == pytest.approx(2 * 4 * (120 + 60) / 3600)
    assert r["finished"] == 3
    spared = simulate_training_whatif(jobs, BINPACK, {"n": 8}, PreemptionWhatIf("late", 1.0, preempt_after_s=7200.0),
                                      **week_args(21600))
    assert spared["preemptions"] == 0  # a and x end before big has waited 2 h
