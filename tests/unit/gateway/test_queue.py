import pytest

from arenahub.gateway.queue import JobRequest, jobs_ahead, order_queue, queue_key

pytestmark = pytest.mark.unit


def job(job_id: str, user: str = "ann", gpus: int = 1, priority: int = 0, at: float = 0.0) -> JobRequest:
    return JobRequest(job_id, user, gpus, priority, at)


@pytest.mark.parametrize(
    "queue, usage, expected",
    [
        # higher priority beats lower usage and earlier submission
        ([job("a", "ann", at=1), job("b", "bob", priority=5, at=9)], {"bob": 1e6}, ["b", "a"]),
        # same priority: the user with the fewest recent GPU-seconds first
        ([job("a", "ann", at=1), job("b", "bob", at=9)], {"ann": 500.0, "bob": 20.0}, ["b", "a"]),
        # users absent from usage count as zero
        ([job("a", "ann", at=1), job("b", "bob", at=9)], {"ann": 0.5}, ["b", "a"]),
        # same priority and usage: earlier submission first
        ([job("a", "ann", at=9), job("b", "bob", at=1)], {}, ["b", "a"]),
        # everything equal: job id keeps the order total and repeatable
        ([job("b", "ann"), job("a", "ann")], {}, ["a", "b"]),
        # one user's several jobs keep their submission order
        ([job("x2", "ann", at=2), job("y", "bob", at=0), job("x1", "ann", at=1)],
         {"bob": 10.0}, ["x1", "x2", "y"]),
    ],
)
def test_fair_share_order_is_priority_then_usage_then_submission(queue, usage, expected):
    assert [j.job_id for j in order_queue(queue, usage)] == expected


def test_fifo_order_ignores_priority_and_usage():
    queue = [job("late", "bob", priority=9, at=5), job("early", "ann", at=1)]
    assert [j.job_id for j in order_queue(queue, {"ann": 1e9}, "fifo")] == ["early", "late"]


def test_order_rejects_a_job_id_queued_twice():
    with pytest.raises(ValueError, match="queued twice"):
        order_queue([job("a"), job("a", "bob")], {})


def test_unknown_queue_order_lists_the_valid_ones():
    with pytest.raises(ValueError, match="Available: fair-share, fifo"):
        queue_key(job("a"), {}, "lottery")  # type: ignore[arg-type]


@pytest.mark.parametrize("gpus", [-1, 1.5, True, "2"])
def test_job_request_refuses_gpu_counts_that_are_not_whole_numbers(gpus):
    with pytest.raises(ValueError, match="whole number"):
        JobRequest("a", "ann", gpus)


def test_job_request_needs_a_job_id():
    with pytest.raises(ValueError, match="job_id"):
        JobRequest("", "ann", 1)


def test_zero_gpu_request_is_a_valid_cpu_job():
    assert JobRequest("cpu", "ann", 0).gpus == 0


def test_jobs_ahead_counts_the_jobs_before_this_one():
    ordered = order_queue([job("a", at=1), job("b", at=2), job("c", at=3)], {})
    assert [jobs_ahead(j, ordered) for j in ("a", "b", "c")] == [0, 1, 2]
    with pytest.raises(KeyError):
        jobs_ahead("zzz", ordered)
