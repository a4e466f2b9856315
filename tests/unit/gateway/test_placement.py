import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenahub.gateway.placement import (
    BINPACK,
    FIFO_SPREAD,
    Cluster,
    Gpu,
    Node,
    PlacementError,
    PlacementPolicy,
    choose_node,
    get_policy,
    make_plan,
    plan,
)
from arenahub.gateway.queue import JobRequest

pytestmark = pytest.mark.unit


def job(job_id: str, gpus: int, user: str = "ann", at: float = 0.0, priority: int = 0) -> JobRequest:
    return JobRequest(job_id, user, gpus, priority, at)


def place_one_by_one(policy: PlacementPolicy, cluster: Cluster, jobs: list[JobRequest]):
    """Plan after each arrival, as the gateway does; return (node per job id, final cluster)."""
    nodes: dict[str, str | None] = {}
    queue: list[JobRequest] = []
    for arriving in jobs:
        queue.append(arriving)
        result = make_plan(queue, cluster, {}, policy, now=arriving.submitted_at)
        cluster = result.cluster
        started = {a.job_id for a in result.assignments}
        nodes.update({a.job_id: a.node for a in result.assignments})
        queue = [j for j in queue if j.job_id not in started]
    return nodes, cluster


SEED_004 = Cluster.from_sizes({"node1": 3, "node2": 3, "node3": 3})
SEED_004_JOBS = [job("job1", 1, at=1), job("job2", 2, at=2), job("job3", 1, at=3), job("job4", 3, at=4)]


@pytest.mark.parametrize(
    "policy, expected_nodes, expected_used",
    [
        # seed 004 with Volcano binpack: node1 takes job1 and job2, job3 goes to node2, node3
        # stays whole and job4 (3 GPUs) starts there.
        (BINPACK, {"job1": "node1", "job2": "node1", "job3": "node2", "job4": "node3"}, 7),
        # seed 004 with the stock spread: one job per node, 5 GPUs free but no node has 3.
        (FIFO_SPREAD, {"job1": "node1", "job2": "node2", "job3": "node3"}, 4),
    ],
)
def test_seed_004_binpack_keeps_a_whole_node_free_where_spread_fragments(
    policy, expected_nodes, expected_used
):
    nodes, cluster = place_one_by_one(policy, SEED_004, SEED_004_JOBS)
    assert nodes == expected_nodes
    assert cluster.used_gpus == expected_used


def test_seed_004_spread_tells_job4_why_it_waits():
    cluster = SEED_004
    for name, node, indices in [("job1", "node1", (0,)), ("job2", "node2", (0, 1)), ("job3", "node3", (0,))]:
        cluster = cluster.allocate(name, "ann", node, indices)
    result = make_plan([job("job4", 3, at=4)], cluster, {}, FIFO_SPREAD, now=5)
    assert result.assignments == ()
    assert "3 free GPUs on one node; the most free on any node is 2" in result.waiting[0].reason


TWO_BY_FOUR = Cluster.from_sizes({"a": 4, "b": 4})


def test_four_gpu_job_never_starts_split_across_two_half_free_nodes():
    cluster = TWO_BY_FOUR.allocate("x", "bob", "a", (0, 1)).allocate("y", "bob", "b", (2, 3))
    for policy in (BINPACK, FIFO_SPREAD):
        result = make_plan([job("big", 4)], cluster, {}, policy, now=0)
        assert result.assignments == ()
        assert result.cluster == cluster


def test_three_gpu_and_one_gpu_jobs_share_a_node_and_leave_the_other_whole():
    nodes, cluster = place_one_by_one(
        BINPACK, TWO_BY_FOUR, [job("three", 3, at=1), job("one", 1, at=2), job("four", 4, at=3)]
    )
    assert nodes["three"] == nodes["one"]
    assert nodes["four"] != nodes["three"]
    assert cluster.allocation_of("four").gpu_indices == (0, 1, 2, 3)
    assert cluster.allocation_ratio == 1.0


def test_assignment_gives_the_lowest_free_gpu_indices_of_one_node():
    cluster = TWO_BY_FOUR.allocate("x", "bob", "a", (1,))
    assert plan([job("j", 2)], cluster, {}, BINPACK, now=0)[0].gpu_indices == (0, 2)


@pytest.mark.parametrize(
    "free, gpus, fit, expected",
    [
        ({"a": 1, "b": 3, "c": 4}, 1, "binpack", "a"),
        ({"a": 1, "b": 3, "c": 4}, 2, "binpack", "b"),
        ({"a": 1, "b": 3, "c": 4}, 1, "spread", "c"),
        ({"a": 4, "b": 4}, 2, "binpack", "a"),  # ties go to the node listed first
        ({"a": 4, "b": 4}, 2, "spread", "a"),
        ({"a": 1, "b": 3}, 4, "binpack", None),
    ],
)
def test_choose_node_picks_the_fullest_or_emptiest_node_that_fits(free, gpus, fit, expected):
    cluster = Cluster.from_sizes({name: 4 for name in free})
    for name, count in free.items():
        if count < 4:
            cluster = cluster.allocate(f"busy-{name}", "bob", name, range(4 - count))
    assert choose_node(cluster, gpus, fit) == expected


def test_binpack_tie_on_free_gpus_goes_to_the_smaller_node_so_the_big_node_stays_whole():
    # 8-GPU node half used, 4-GPU node empty: both have 4 free; only the 8-GPU node can ever
    # take an 8-GPU job, so the 4-GPU job goes to the small node.
    cluster = Cluster.from_sizes({"big": 8, "small": 4}).allocate("r", "bob", "big", range(4))
    assert choose_node(cluster, 4, "binpack") == "small"


def test_user_with_less_recent_usage_gets_the_last_gpu():
    cluster = Cluster.from_sizes({"a": 1})
    queue = [job("heavy", 1, user="ann", at=0), job("light", 1, user="bob", at=50)]
    result = make_plan(queue, cluster, {"ann": 7200.0, "bob": 60.0}, BINPACK, now=60)
    assert [a.job_id for a in result.assignments] == ["light"]


def test_priority_beats_fair_share():
    cluster = Cluster.from_sizes({"a": 1})
    queue = [job("light", 1, user="bob"), job("urgent", 1, user="ann", priority=1)]
    assert [a.job_id for a in plan(queue, cluster, {"ann": 1e9}, BINPACK, now=0)] == ["urgent"]


@pytest.mark.parametrize(
    "held, cap, overrides, starts",
    [
        (0, 4, None, True),
        (2, 4, None, True),   # 2 held + 2 asked == cap
        (3, 4, None, False),  # 3 + 2 > 4: waits
        (3, None, None, True),
        (3, 4, {"ann": 8}, True),  # a per-user cap overrides the policy's
        (0, 4, {"ann": 1}, False),
    ],
)
def test_per_user_gpu_cap_makes_jobs_wait_not_fail(held, cap, overrides, starts):
    cluster = Cluster.from_sizes({"a": 8, "b": 8})
    if held:
        cluster = cluster.allocate("running", "ann", "a", range(held))
    policy = PlacementPolicy("capped", max_gpus_per_user=cap)
    result = make_plan([job("j", 2)], cluster, {}, policy, now=0, user_gpu_caps=overrides)
    assert (len(result.assignments) == 1) is starts
    if not starts:
        assert "limit is" in result.waiting[0].reason


def test_capped_user_does_not_block_other_users():
    cluster = Cluster.from_sizes({"a": 4}).allocate("r", "ann", "a", (0, 1))
    policy = PlacementPolicy("strict-capped", backfill=False, max_gpus_per_user=2)
    result = make_plan([job("ann2", 1, "ann", at=0), job("bob1", 1, "bob", at=1)], cluster, {}, policy, now=2)
    assert [a.job_id for a in result.assignments] == ["bob1"]


def test_job_larger_than_the_cap_says_it_can_never_start():
    policy = PlacementPolicy("capped", max_gpus_per_user=2)
    result = make_plan([job("j", 3)], TWO_BY_FOUR, {}, policy, now=0)
    assert "cannot start" in result.waiting[0].reason and "2 or fewer" in result.waiting[0].reason


def test_job_larger_than_every_node_waits_with_reason_and_blocks_nobody():
    result = make_plan([job("huge", 5, at=0), job("small", 1, at=1)], TWO_BY_FOUR, {}, FIFO_SPREAD, now=1)
    assert [a.job_id for a in result.assignments] == ["small"]
    assert "largest node has 4" in result.waiting[0].reason


HALF_FULL = TWO_BY_FOUR.allocate("x", "bob", "a", (0, 1)).allocate("y", "bob", "b", (0, 1))
BIG_THEN_SMALL = [job("big", 4, user="ann", at=0), job("small", 1, user="cat", at=10)]


@pytest.mark.parametrize(
    "policy, now, started, reserved",
    [
        # strict order: the small job may not pass the blocked big one
        (PlacementPolicy("strict", backfill=False), 100, [], {}),
        # backfill before the wait threshold: the small job starts past the big one
        (PlacementPolicy("bf", reserve_after_s=900), 100, ["small"], {}),
        # backfill with the big job waiting past the threshold: node a is drained for it and
        # the small job starts on the other node
        (PlacementPolicy("bf", reserve_after_s=900), 900, ["small"], {"a": "big"}),
        # backfill without reservations at all
        (PlacementPolicy("greedy", reserve_after_s=None), 10_000, ["small"], {}),
    ],
)
def test_backfill_and_reservation_rules(policy, now, started, reserved):
    result = make_plan(BIG_THEN_SMALL, HALF_FULL, {}, policy, now=now)
    assert [a.job_id for a in result.assignments] == started
    assert dict(result.reserved) == reserved
    if reserved:
        assert result.cluster.allocation_of("small").node == "b"
        assert "reserved for this job" in result.waiting[0].reason


def test_reserved_node_takes_no_job_even_when_it_is_the_only_fit():
    cluster = TWO_BY_FOUR.allocate("x", "bob", "a", (0, 1)).allocate("y", "bob", "b", (0, 1, 2, 3))
    result = make_plan(BIG_THEN_SMALL, cluster, {}, PlacementPolicy("bf", reserve_after_s=0), now=10)
    assert result.assignments == ()
    assert dict(result.reserved) == {"a": "big"}  # one reservation at a time: the first in order


def _simulate_stream(policy: PlacementPolicy, horizon_s: float) -> float | None:
    """Two 2-GPU nodes; a 2-GPU job waits while a 1-GPU job arrives every 2 s and runs 12 s.

    Returns when the big job started, or None when it never did within the horizon.
    """
    cluster = Cluster.from_sizes({"a": 2, "b": 2})
    ends: dict[str, float] = {}
    queue = [job("big", 2, user="ann", at=0.0)]
    t, k = 0.0, 0
    cluster = cluster.allocate("warm-a", "bob", "a", (0,)).allocate("warm-b", "bob", "b", (0,))
    ends.update({"warm-a": 6.0, "warm-b": 9.0})
    while t <= horizon_s:
        for done in [j for j, end in ends.items() if end <= t]:
            cluster = cluster.release(done)
            del ends[done]
        if t % 2 == 0:
            queue.append(job(f"s{k}", 1, user=f"u{k}", at=t))
            k += 1
        result = make_plan(queue, cluster, {}, policy, now=t)
        cluster = result.cluster
        for a in result.assignments:
            if a.job_id == "big":
                return t
            ends[a.job_id] = t + 12.0
        queue = [j for j in queue if j.job_id not in {a.job_id for a in result.assignments}]
        t += 1.0
    return None


def test_reservation_stops_a_stream_of_small_jobs_from_starving_a_big_one():
    assert _simulate_stream(PlacementPolicy("greedy", reserve_after_s=None), 600) is None
    started = _simulate_stream(PlacementPolicy("reserving", reserve_after_s=30), 600)
    assert started is not None and 30 <= started <= 30 + 12  # the drained node's jobs end


def test_cpu_jobs_start_at_once_without_gpus_even_behind_a_blocked_job():
    full = Cluster.from_sizes({"a": 1}).allocate("r", "bob", "a", (0,))
    result = make_plan([job("gpu", 1, at=0), job("cpu", 0, at=1)], full, {}, FIFO_SPREAD, now=1)
    assert [(a.job_id, a.node, a.gpu_indices) for a in result.assignments] == [("cpu", None, ())]
    assert result.cluster == full


def test_queued_job_that_already_holds_gpus_is_refused():
    cluster = TWO_BY_FOUR.allocate("j", "ann", "a", (0,))
    with pytest.raises(PlacementError, match="already holds GPUs"):
        make_plan([job("j", 1)], cluster, {}, BINPACK, now=0)


def test_allocate_and_release_return_new_states_and_leave_the_old_one_alone():
    empty = TWO_BY_FOUR
    one = empty.allocate("j", "ann", "a", (0, 1))
    assert empty.used_gpus == 0 and one.used_gpus == 2
    assert one.holder(Gpu("a", 1)) == "j" and one.holder(Gpu("a", 2)) is None
    assert one.free_indices("a") == (2, 3) and one.gpus_of_user("ann") == 2
    assert one.release("j") == empty
    assert one.release("j").release("j") == empty  # releasing twice is harmless
    assert empty.allocate("cpu", "ann", None, ()) is empty


@pytest.mark.parametrize(
    "node, indices, message",
    [
        ("a", (0,), "already held by job x"),
        ("a", (4,), "has GPUs 0..3"),
        ("zz", (0,), "unknown node 'zz'"),
        ("a", (1, 1), "distinct GPUs"),
        (None, (1,), "names no node"),
    ],
)
def test_impossible_allocations_are_refused_with_a_reason(node, indices, message):
    cluster = TWO_BY_FOUR.allocate("x", "bob", "a", (0,))
    with pytest.raises(PlacementError, match=message):
        cluster.allocate("j", "ann", node, indices)


def test_cluster_refuses_duplicate_node_names_and_bad_sizes():
    with pytest.raises(PlacementError, match="unique"):
        Cluster((Node("a", 1), Node("a", 2)))
    with pytest.raises(PlacementError, match="whole number"):
        Node("a", -1)


def test_unknown_policy_name_lists_the_built_in_ones():
    assert get_policy("binpack") is BINPACK
    with pytest.raises(PlacementError, match="Available: binpack, fifo-spread"):
        get_policy("random")


def test_policy_refuses_unknown_fit():
    with pytest.raises(PlacementError, match="Available: binpack, spread"):
        PlacementPolicy("p", fit="worst")  # type: ignore[arg-type]


@st.composite
def cluster_and_queue(draw):
    sizes = draw(st.lists(st.sampled_from([1, 2, 3, 4, 8]), min_size=1, max_size=4))
    cluster = Cluster.from_sizes({f"n{i}": s for i, s in enumerate(sizes)})
    for i, node in enumerate(cluster.nodes):
        busy = draw(st.integers(0, node.gpus))
        if busy:
            cluster = cluster.allocate(f"run{i}", draw(st.sampled_from("ab")), node.name, range(busy))
    queue = [
        JobRequest(f"q{i}", draw(st.sampled_from("abc")), draw(st.sampled_from([0, 1, 2, 3, 4, 8])),
                   draw(st.integers(0, 2)), draw(st.floats(0, 100)))
        for i in range(draw(st.integers(0, 8)))
    ]
    return cluster, queue


@settings(max_examples=200, deadline=None)
@given(cluster_and_queue(), st.sampled_from([BINPACK, FIFO_SPREAD, PlacementPolicy("c", max_gpus_per_user=3)]))
def test_every_start_is_whole_on_one_node_and_never_double_books(setup, policy):
    cluster, queue = setup
    result = make_plan(queue, cluster, {"a": 5.0}, policy, now=1000.0)
    wanted = {j.job_id: j.gpus for j in queue}
    for a in result.assignments:
        assert len(a.gpu_indices) == wanted[a.job_id]
        if wanted[a.job_id]:
            assert result.cluster.allocation_of(a.job_id).node == a.node
    assert result.cluster.used_gpus == cluster.used_gpus + sum(wanted[a.job_id] for a in result.assignments)
    assert {a.job_id for a in result.assignments} | {w.job_id for w in result.waiting} == set(wanted)
