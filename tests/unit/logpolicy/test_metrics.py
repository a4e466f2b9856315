"""Tests of the metric channel: name, point and digit caps, and the bits a job can move through it."""

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from arenahub.core.metricline import MetricPoint, format_metric_line
from arenahub.logpolicy import LogFilter, Verdict, build_policy, metric_channel_bits
from arenahub.logpolicy.metrics import MetricChannel, TokenBucket, round_value, value_bits
from arenahub.logpolicy.policy import MetricCaps

pytestmark = pytest.mark.unit


def caps(**fields):
    return MetricCaps(**fields)


@pytest.mark.parametrize("value, digits, rounded", [
    (0.123456789, 4, 0.1235),
    (123456.789, 3, 123000.0),
    (-0.00098765, 2, -0.00099),
    (1e-40, 4, 0.0),
    (1e35, 4, math.inf),
    (0.0, 4, 0.0),
])
def test_values_keep_only_the_declared_significant_digits(value, digits, rounded):
    assert round_value(value, digits) == rounded


def test_nan_and_infinities_pass_unchanged():
    assert math.isnan(round_value(math.nan, 3)) and round_value(-math.inf, 3) == -math.inf


def test_names_beyond_max_names_are_dropped_and_said_so():
    channel = MetricChannel(caps(max_names=2), is_replay=True)
    first = channel.admit(MetricPoint(1, {"loss": 1.0, "acc": 0.5}), 0.0)
    second = channel.admit(MetricPoint(2, {"loss": 0.9, "lr": 0.1}), 0.0)
    assert first.point.values == {"loss": 1.0, "acc": 0.5}
    assert second.point.values == {"loss": 0.9} and second.reason == "metric-names-cap"


def test_names_must_match_the_pattern_and_length():
    channel = MetricChannel(caps(name_pattern=r"[a-z_/]+", max_name_chars=8), is_replay=True)
    admitted = channel.admit(MetricPoint(1, {"loss": 1.0, "Loss2": 2.0, "very_long_name": 3.0}), 0.0)
    assert admitted.point.values == {"loss": 1.0} and admitted.reason == "metric-name"


def test_points_beyond_the_job_cap_are_withheld():
    log_filter = LogFilter(build_policy({"policy": "filtered", "metrics": {"max_points_per_job": 3}}), is_replay=True, backend="python")
    actions = [log_filter.feed(format_metric_line(i, {"loss": 0.5}), 0.0)[-1].action for i in range(5)]
    assert actions == [Verdict.PASS] * 3 + [Verdict.WITHHOLD] * 2
    assert log_filter.summary()["reasons"] == {"metric-points-cap": 2}


def test_points_beyond_the_rate_are_withheld_until_the_bucket_refills():
    channel = MetricChannel(caps(max_points_per_s=2, burst_points=2))
    assert channel.admit(MetricPoint(1, {"a": 1.0, "b": 2.0}), 10.0).point is not None
    assert channel.admit(MetricPoint(2, {"a": 1.0}), 10.0).reason == "metric-rate"
    assert channel.admit(MetricPoint(3, {"a": 1.0}), 10.5).point is not None


def test_a_step_above_max_step_is_withheld():
    channel = MetricChannel(caps(max_step=100), is_replay=True)
    assert channel.admit(MetricPoint(101, {"a": 1.0}), 0.0) == channel.admit(MetricPoint(10**6, {"a": 1.0}), 0.0)
    assert channel.admit(MetricPoint(101, {"a": 1.0}), 0.0).reason == "metric-step"


def test_a_malformed_metric_line_is_withheld_not_shown():
    [decision] = LogFilter(build_policy({"policy": "open"}), backend="python").feed("@@arenahub.metric {not json", 0.0)
    assert (decision.action, decision.reason) == (Verdict.WITHHOLD, "metric-malformed")


def test_an_admitted_metric_line_is_shown_reformatted_with_rounded_values():
    [decision] = LogFilter(build_policy({"policy": "filtered"}), backend="python").feed(
        '@@arenahub.metric {"step": 7,  "loss": 0.123456789}', 0.0)
    assert decision.text == format_metric_line(7, {"loss": 0.1235})


def test_the_token_bucket_refills_at_its_rate_up_to_its_burst():
    bucket = TokenBucket(rate_per_s=10, burst=5)
    assert bucket.try_take(5, 0.0) and not bucket.try_take(1, 0.0)
    assert bucket.available(0.3) == 3 and bucket.available(100.0) == 5


def test_declared_bits_grow_with_digits_points_and_names():
    base = metric_channel_bits(caps())
    assert metric_channel_bits(caps(significant_digits=8)) > base
    assert metric_channel_bits(caps(max_points_per_job=10000)) > base
    assert metric_channel_bits(caps(max_names=32)) > base
    assert 20 < value_bits(4) < 21  # 9000 mantissas x 60 exponents x 2 signs


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), digits=st.integers(1, 6), points=st.integers(10, 400))
def test_a_secret_hidden_in_metric_values_and_names_is_bounded_by_the_declared_bits(seed, digits, points):
    """The attacker puts secret bytes in values (as many digits as fit), in names and in steps;
    whatever the filter shows is one of at most 2**declared_bits outputs, and the values shown
    carry no more than the declared digits."""
    rng = random.Random(seed)
    policy = build_policy({"policy": "filtered", "metrics": {
        "significant_digits": digits, "max_points_per_job": points, "max_names": 4}})
    log_filter = LogFilter(policy, is_replay=True, backend="python")
    secret = rng.randbytes(4096)
    shown_values = []
    for i in range(0, 2000, 8):
        chunk = int.from_bytes(secret[i:i + 7], "big")
        name = "m" + secret[i:i + 6].hex()[:10]
        line = format_metric_line(chunk % 10**9, {name: chunk / 2**56, "loss": float(chunk % 10**15)})
        for d in log_filter.feed(line, 0.0):
            if d.is_metric and d.metric is not None:
                shown_values.extend(d.metric.values.values())
    assert len(shown_values) <= points
    assert all(v == round_value(v, digits) for v in shown_values)
    assert len(log_filter.summary()["metric_names"]) <= 4
    shown_bits = len(shown_values) * value_bits(digits)
    assert shown_bits <= metric_channel_bits(policy.metrics)
