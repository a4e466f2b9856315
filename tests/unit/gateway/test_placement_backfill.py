import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenahub.gateway.backfill import Reservation, earliest_start, fits_beside, in_words
from arenahub.gateway.placement import BINPACK, Cluster, PlacementError, PlacementPolicy, make_plan
from arenahub.gateway.queue import JobRequest, order_queue

pytestmark = pytest.mark.unit

EASY = PlacementPolicy("easy", reserve_after_s=0)
HOUR = 3600.0


def job(job_id: str, gpus: int, limit: float | None, user: str = "ann", at: float = 0.0, priority: int = 0):
    return JobRequest(job_id, user, gpus, priority, at, limit)


# Two 4-GPU nodes at t=0: node a has 3 GPUs held until 1 h, node b 3 GPUs until 3 h.
BUSY = (
    Cluster.from_sizes({"a": 4, "b": 4})
    .allocate("ra", "bob", "a", (0, 1, 2), ends_by=HOUR)
    .allocate("rb", "bob", "b", (0, 1, 2), ends_by=3 * HOUR)
)


@pytest.mark.parametrize(
    "gpus, expected",
    [
        (1, (0.0, "a")),            # fits now; ties go to the node with most free, then the first
        (2, (HOUR, "a")),           # node a's job ends first
        (4, (HOUR, "a")),
        (5, None),                  # no node is that big
    ],
)
def test_earliest_start_is_when_running_jobs_reach_their_time_limits(gpus, expected):
    assert earliest_start(BUSY, gpus, now=0.0) == expected


def test_earliest_start_counts_the_earliest_ending_gpus_first():
    cluster = Cluster.from_sizes({"a": 4}).allocate("x", "bob", "a", (0, 1), ends_by=500.0).allocate(
        "y", "bob", "a", (2, 3), ends_by=200.0
    )
    assert earliest_start(cluster, 2, now=0.0) == (200.0, "a")
    assert earliest_start(cluster, 3, now=0.0) == (500.0, "a")
    assert earliest_start(cluster, 3, now=900.0) == (900.0, "a")  # overdue jobs end any moment


def test_a_job_without_a_time_limit_makes_its_node_wait_forever_in_the_estimate():
    cluster = Cluster.from_sizes({"a": 2, "b": 2}).allocate("x", "bob", "a", (0, 1)).allocate(
        "y", "bob", "b", (0,), ends_by=100.0
    )
    assert earliest_start(cluster, 2, now=0.0) == (100.0, "b")
    assert earliest_start(cluster.release("y").allocate("y", "bob", "b", (0,)), 2, 0.0)[0] == math.inf


def test_free_at_counts_jobs_ended_by_then():
    assert [BUSY.free_at("a", t) for t in (0.0, HOUR - 1, HOUR)] == [1, 1, 4]


def test_a_short_job_backfills_before_the_reservation_and_a_long_one_waits():
    queue = [job("big", 4, HOUR, at=0), job("short", 1, HOUR / 2, at=1), job("long", 1, 5 * HOUR, at=2)]
    result = make_plan(queue, BUSY, {}, EASY, now=0.0)
    assert result.reservation == Reservation("big", "a", 4, HOUR, 0)
    placed = {a.job_id: a.node for a in result.assignments}
    # short ends before big starts, so it may take node a's free GPU; long must go elsewhere
    assert placed == {"short": "a", "long": "b"}
    assert result.cluster.free_at("a", HOUR) >= 4


def test_a_long_job_that_fits_only_on_the_reserved_gpus_waits_and_says_for_whom():
    full_b = BUSY.allocate("rb2", "bob", "b", (3,), ends_by=3 * HOUR)
    queue = [job("big", 4, HOUR, at=0), job("long", 1, 5 * HOUR, at=1)]
    result = make_plan(queue, full_b, {}, EASY, now=0.0)
    assert result.assignments == ()
    reasons = {w.job_id: w.reason for w in result.waiting}
    assert "Node a is reserved for this job: it starts there within 1 h 00 min" in reasons["big"]
    assert "held for job big, which starts there within 1 h 00 min" in reasons["long"]


def test_a_long_job_may_take_the_gpus_the_reserved_job_leaves_over():
    # a 2-GPU head on node a (4 GPUs free at 1 h) leaves 2 spare: a 1-GPU long job may run there
    cluster = Cluster.from_sizes({"a": 4}).allocate("ra", "bob", "a", (0, 1, 2), ends_by=HOUR)
    queue = [job("head", 2, HOUR, at=0), job("long1", 1, 9 * HOUR, at=1)]
    result = make_plan(queue, cluster, {}, EASY, now=0.0)
    assert [a.job_id for a in result.assignments] == ["long1"]
    assert result.reservation.spare_gpus == 1  # one spare left after long1 took one
    assert result.cluster.free_at("a", HOUR) >= 2


def test_spare_gpus_run_out_one_job_at_a_time():
    cluster = Cluster.from_sizes({"a": 4}).allocate("ra", "bob", "a", (0, 1), ends_by=HOUR)
    queue = [job("head", 3, HOUR, at=0), job("l1", 1, 9 * HOUR, at=1), job("l2", 1, 9 * HOUR, at=2)]
    result = make_plan(queue, cluster, {}, EASY, now=0.0)
    assert [a.job_id for a in result.assignments] == ["l1"]  # 1 spare at 1 h: only one may stay


def test_without_time_limits_the_reserved_node_is_drained():
    cluster = Cluster.from_sizes({"a": 4, "b": 4}).allocate("ra", "bob", "a", (0, 1, 2)).allocate(
        "rb", "bob", "b", (0, 1, 2)
    )
    queue = [job("big", 4, None, at=0), job("tiny", 1, 60.0, at=1), job("other", 1, None, at=2)]
    result = make_plan(queue, cluster, {}, EASY, now=0.0)
    assert result.reservation.start_by == math.inf
    assert {a.job_id: a.node for a in result.assignments} == {"tiny": "b"}
    assert "takes no new jobs (the jobs running there declare no time limit)" in result.waiting[0].reason


def test_reservation_waits_for_reserve_after_s_and_greedy_backfill_runs_before():
    queue = [job("big", 4, HOUR, at=0), job("long", 1, 5 * HOUR, at=1)]
    patient = PlacementPolicy("patient", reserve_after_s=900)
    early = make_plan(queue, BUSY, {}, patient, now=100.0)
    assert early.reservation is None and {a.job_id for a in early.assignments} == {"long"}
    late = make_plan(queue, BUSY, {}, patient, now=900.0)
    assert late.reservation.job_id == "big"


def test_the_head_by_fair_share_gets_the_reservation_not_the_oldest_job():
    queue = [job("heavy", 4, HOUR, user="ann", at=0), job("light", 4, HOUR, user="cat", at=50)]
    result = make_plan(queue, BUSY, {"ann": 1e6}, EASY, now=60.0)
    assert result.reservation.job_id == "light"


def test_the_default_policy_backfills_by_time_limits():
    assert BINPACK.reservation == "time-limit" and BINPACK.backfill


def test_unknown_reservation_kind_lists_the_valid_ones():
    with pytest.raises(PlacementError, match="Available: time-limit, drain"):
        PlacementPolicy("p", reservation="guess")  # type: ignore[arg-type]


def test_a_job_request_refuses_a_time_limit_that_is_not_positive():
    with pytest.raises(ValueError, match="more than 0 seconds"):
        JobRequest("j", "ann", 1, time_limit_s=0)


@pytest.mark.parametrize("seconds, words", [(1, "1 min"), (60, "1 min"), (61, "2 min"), (3600, "1 h 00 min"),
                                            (2 * 3600 + 300, "2 h 05 min")])
def test_waits_read_in_minutes_and_hours(seconds, words):
    assert in_words(seconds) == words


def test_fits_beside_allows_early_enders_and_spare_gpus_only():
    r = Reservation("head", "a", 2, 1000.0, 1)
    assert fits_beside(r, job("short", 3, 500.0), now=400.0) == (True, False)
    assert fits_beside(r, job("long1", 1, 5000.0), now=400.0) == (True, True)
    assert fits_beside(r, job("long2", 2, 5000.0), now=400.0) == (False, True)
    assert fits_beside(r, job("unknown", 1, None), now=400.0) == (True, True)
    assert fits_beside(Reservation("head", "a", 2, math.inf, 0), job("short", 1, 1.0), 0.0) == (False, False)


# --- properties: a backfilled job never delays the reserved job ------------------------------------

@st.composite
def busy_pool_and_queue(draw):
    sizes = draw(st.lists(st.sampled_from([1, 2, 4, 8]), min_size=1, max_size=3))
    cluster = Cluster.from_sizes({f"n{i}": s for i, s in enumerate(sizes)})
    for i, node in enumerate(cluster.nodes):
        for k in range(draw(st.integers(0, node.gpus))):
            ends = draw(st.one_of(st.none(), st.floats(1, 10_000)))
            cluster = cluster.allocate(f"r{i}-{k}", "bob", node.name, (k,), ends_by=ends)
    queue = [
        JobRequest(f"q{i}", draw(st.sampled_from("abc")), draw(st.sampled_from([1, 2, 3, 4, 8])),
                   draw(st.integers(0, 1)), -float(i), draw(st.one_of(st.none(), st.floats(1, 20_000))))
        for i in range(draw(st.integers(1, 8)))
    ]
    return cluster, queue


CAPPED = PlacementPolicy("capped", reserve_after_s=0, max_gpus_per_user=4)


@settings(max_examples=300, deadline=None)
@given(busy_pool_and_queue(), st.sampled_from([EASY, CAPPED]))
def test_backfilled_jobs_never_delay_the_reserved_job(setup, policy):
    cluster, queue = setup
    usage = {"a": 50.0}
    result = make_plan(queue, cluster, usage, policy, now=0.0)
    wanted = {j.job_id: j for j in queue}
    for a in result.assignments:  # starts stay whole, on one node, within the per-user cap
        assert len(a.gpu_indices) == wanted[a.job_id].gpus
    if policy.max_gpus_per_user is not None:
        started_by = {}
        for a in result.assignments:
            started_by[wanted[a.job_id].user] = started_by.get(wanted[a.job_id].user, 0) + len(a.gpu_indices)
        for user, gpus in started_by.items():
            assert cluster.gpus_of_user(user) + gpus <= policy.max_gpus_per_user
    r = result.reservation
    if r is None:
        return
    order = [j.job_id for j in order_queue(queue, usage, policy.order)]
    ahead = set(order[: order.index(r.job_id)])
    behind = {a.job_id: a.node for a in result.assignments if a.job_id not in ahead}
    # The promise holds with every start of this plan applied ...
    if math.isfinite(r.start_by):
        assert result.cluster.free_at(r.node, r.start_by) >= r.gpus
    else:
        assert r.node not in behind.values()  # nothing known to end there: drained
    # ... and is exactly what the pool offered the job before anyone behind it started.
    before = cluster
    for alloc in result.cluster.allocations:
        if alloc.job_id in ahead:
            before = before.allocate(alloc.job_id, alloc.user, alloc.node, alloc.gpu_indices, alloc.ends_by)
    assert earliest_start(before, r.gpus, 0.0) == (r.start_by, r.node)
    assert earliest_start(result.cluster, r.gpus, 0.0)[0] <= r.start_by


@settings(max_examples=150, deadline=None)
@given(busy_pool_and_queue(), st.lists(st.floats(0.05, 1.0), min_size=64, max_size=64))
def test_the_reserved_job_starts_by_its_reservation_when_runs_end_at_or_before_their_limits(setup, fractions):
    """Replan at every job end, runs lasting a random fraction of their limits: the head starts in time.

    Every job is queued from the start, so the queue order stays the same from plan to plan.
    """
    cluster, queue = setup
    queue = [JobRequest(j.job_id, j.user, j.gpus, j.priority, j.submitted_at, j.time_limit_s or 500.0)
             for j in queue]
    # running jobs without a limit get one, so every promise is finite
    cluster = Cluster(cluster.nodes, tuple(
        a if a.ends_by is not None else type(a)(a.job_id, a.user, a.node, a.gpu_indices, 700.0)
        for a in cluster.allocations
    ))
    ends = {a.job_id: a.ends_by * fractions[i % 64] for i, a in enumerate(cluster.allocations)}
    now, promise, started = 0.0, None, {}
    for step in range(64):
        result = make_plan(queue, cluster, {}, EASY, now=now)
        if promise is None and result.reservation is not None:
            promise = result.reservation
        cluster = result.cluster
        for a in result.assignments:
            started[a.job_id] = now
            limit = next(j.time_limit_s for j in queue if j.job_id == a.job_id)
            ends[a.job_id] = now + limit * fractions[(step + len(started)) % 64]
        queue = [j for j in queue if j.job_id not in started]
        if promise is not None and promise.job_id in started:
            break
        running = {j: e for j, e in ends.items() if cluster.allocation_of(j) is not None}
        if not running:
            break
        now = max(now, min(running.values()))
        for j, e in running.items():
            if e <= now:
                cluster = cluster.release(j)
    if promise is not None:
        assert promise.job_id in started
        assert started[promise.job_id] <= promise.start_by + 1e-6
