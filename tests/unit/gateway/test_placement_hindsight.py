"""The benchmark's best placement in hindsight (benchmarks/placement_hindsight.py) on hand-checkable traces."""

import itertools
import json
import random

import pytest

from arenahub.gateway.placement import BINPACK, FIFO_SPREAD, PlacementPolicy, make_plan
from benchmarks.placement import (
    SEED_004,
    Trace,
    TraceJob,
    _outcome,
    policy_decider,
    random_trace,
    simulate,
    with_declared_limits,
)
from benchmarks.placement_hindsight import (
    assignments,
    cached_hindsight_optima,
    hindsight_optimum,
    replay,
)

pytestmark = pytest.mark.unit

NEVER_RESERVE = PlacementPolicy("never", reserve_after_s=None)
DRAIN = PlacementPolicy("drain", reservation="drain", reserve_after_s=900)


def trace(sizes, *jobs):
    """Jobs as (id, user, gpus, arrival s, run s); limits equal to the run times."""
    return Trace(tuple(sizes), tuple(TraceJob(i, u, g, float(a), float(d), float(d)) for i, u, g, a, d in jobs))


def ratio(tr, best):
    return _outcome(tr, best.end_s, best.total_wait_s).allocation_ratio


# Two 2-GPU nodes. a (long) and b (short) arrive first: binpack stacks them on one node, then c
# (long) takes the other, and d (2 GPUs) waits until a long job ends at 100 s. Putting b alone
# on the second node (spreading) frees that node at 11 s for d: done at 111 s instead of 200 s.
SPREAD_WINS = trace(
    (2, 2),
    ("a", "ann", 1, 0, 100), ("b", "bob", 1, 1, 10), ("c", "cat", 1, 2, 100), ("d", "dan", 2, 3, 100),
)


def test_seed_004_is_placed_without_waiting_and_matches_the_exact_optimum():
    best = hindsight_optimum(SEED_004)
    assert (best.end_s, best.total_wait_s) == (3603.0, 0.0)  # all four start on arrival, 1 s apart
    assert sorted(best.nodes) == [0, 0, 1, 2]  # the 1- and 2-GPU jobs share a node, the 3-GPU job has one
    assert ratio(SEED_004, best) == pytest.approx(7 * 3600 / (9 * 3603))


def test_spreading_is_the_best_placement_when_the_short_job_frees_a_whole_node():
    best = hindsight_optimum(SPREAD_WINS)
    assert best.nodes == (0, 1, 0, 1)  # the long jobs share node 0, b and then d use node 1
    assert (best.end_s, best.total_wait_s) == (111.0, 8.0)  # d waits from 3 s to 11 s
    assert ratio(SPREAD_WINS, best) == pytest.approx(410 / (4 * 111))
    binpack = simulate(SPREAD_WINS, policy_decider(BINPACK))
    assert binpack.allocation_ratio == pytest.approx(410 / (4 * 200))  # stacked a and b: d waits for 100 s
    assert simulate(SPREAD_WINS, policy_decider(FIFO_SPREAD)).allocation_ratio == pytest.approx(ratio(SPREAD_WINS, best))


def test_a_job_whose_node_is_full_does_not_hold_back_a_later_job_that_fits_there():
    tr = trace((2,), ("x", "ann", 1, 0, 100), ("big", "bob", 2, 1, 10), ("small", "cat", 1, 2, 10))
    end, wait, starts = replay(tr, (0, 0, 0))
    assert starts == [0.0, 100.0, 2.0]  # small passes big on the same node; big starts when x ends
    assert (end, wait) == (110.0, 99.0)


@pytest.mark.parametrize("order, starts", [
    ("fair-share", [0.0, 20.0, 10.0]),  # at 10 s ann has used 10 GPU-s, bob none: bob's job first
    ("fifo", [0.0, 10.0, 20.0]),
])
def test_jobs_competing_for_a_node_start_in_the_queue_order(order, starts):
    tr = trace((1,), ("x", "ann", 1, 0, 10), ("y", "ann", 1, 1, 10), ("z", "bob", 1, 2, 10))
    assert replay(tr, (0, 0, 0), order)[2] == starts


def test_a_job_pinned_to_a_node_too_small_for_it_is_refused():
    tr = trace((4, 2), ("a", "ann", 4, 0, 10))
    with pytest.raises(ValueError, match="needs 4 GPUs; node 1 has 2"):
        replay(tr, (1,))
    assert list(assignments((4, 2), (4, 1))) == [(0, 0), (0, 1)]
    with pytest.raises(ValueError, match="largest node has 4"):
        hindsight_optimum(trace((4, 2), ("a", "ann", 8, 0, 10)))


def test_equal_nodes_are_searched_once_per_swap_class():
    # Ways to split 8 jobs among at most 3 unlabelled nodes: S(8,1) + S(8,2) + S(8,3).
    assert len(list(assignments((3, 3, 3), [1] * 8))) == 1 + 127 + 966
    assert len(list(assignments((8, 4), [1] * 8))) == 2 ** 8  # different nodes: nothing to merge


@pytest.mark.parametrize("seed", range(6))
def test_the_reduced_search_finds_the_same_optimum_as_every_assignment(seed):
    rng = random.Random(seed)
    tr = random_trace(rng, 6)
    jobs = sorted(tr.jobs, key=lambda j: (j.arrival_s, j.job_id))
    every = [
        nodes for nodes in itertools.product(range(len(tr.node_sizes)), repeat=len(jobs))
        if all(tr.node_sizes[n] >= j.gpus for n, j in zip(nodes, jobs))
    ]
    brute = min(replay(tr, nodes)[:2] for nodes in every)
    best = hindsight_optimum(tr)
    assert (best.end_s, best.total_wait_s) == brute


def _recording_decider(policy, placed):
    def decide(queue, cluster, usage, now):
        result = make_plan(queue, cluster, usage, policy, now=now)
        placed.update({a.job_id: a.node for a in result.assignments})
        return [(a.job_id, a.node, a.gpu_indices) for a in result.assignments]
    return decide


@pytest.mark.parametrize("seed", range(5))
def test_replaying_binpack_without_reservations_reproduces_its_schedule(seed):
    # The discipline is the planner's own: binpack that never reserves is one of the assignments searched.
    tr = random_trace(random.Random(100 + seed), 8)
    placed: dict[str, str] = {}
    outcome = simulate(tr, _recording_decider(NEVER_RESERVE, placed))
    jobs = sorted(tr.jobs, key=lambda j: (j.arrival_s, j.job_id))
    end, wait, _ = replay(tr, [int(placed[j.job_id][1:]) for j in jobs])  # node "n2" -> 2
    assert (end - tr.first_arrival_s, wait) == (outcome.makespan_s, outcome.total_wait_s)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("policy", [BINPACK, DRAIN, NEVER_RESERVE, FIFO_SPREAD], ids=lambda p: p.name)
def test_the_hindsight_optimum_is_never_below_the_policys_own_ratio(seed, policy):
    tr = with_declared_limits(random_trace(random.Random(200 + seed), 7), random.Random(seed))
    best = hindsight_optimum(tr)
    assert ratio(tr, best) >= simulate(tr, policy_decider(policy)).allocation_ratio - 1e-12
    for hand in (SEED_004, SPREAD_WINS):
        assert ratio(hand, hindsight_optimum(hand)) >= simulate(hand, policy_decider(policy)).allocation_ratio


def test_cached_optima_are_reused_and_recomputed_when_the_trace_changes(tmp_path):
    cache = tmp_path / "hindsight.json"
    first, computed = cached_hindsight_optima([SPREAD_WINS, SEED_004], 1, 4, cache, workers=1)
    assert computed == 2 and [b.end_s for b in first] == [111.0, 3603.0]
    again, computed = cached_hindsight_optima([SPREAD_WINS, SEED_004], 1, 4, cache, workers=1)
    assert computed == 0 and again == first
    renamed = Trace(SPREAD_WINS.node_sizes, tuple(
        TraceJob(j.job_id, "ann", j.gpus, j.arrival_s, j.duration_s) for j in SPREAD_WINS.jobs
    ))  # one user now: fair share orders differently, so the key must differ
    _, computed = cached_hindsight_optima([renamed, SEED_004], 1, 4, cache, workers=1)
    assert computed == 1
    assert len(json.loads(cache.read_text())) == 3
