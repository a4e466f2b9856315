"""Tests of arenahub.gateway.policies: the gateway's hook on top of arenahub.logpolicy."""

import pytest

from arenahub.core.errors import UnprocessableInput
from arenahub.core.metricline import format_metric_line
from arenahub.gateway.executors.base import LogRecord
from arenahub.gateway.loggate import LogGate
from arenahub.gateway.policies import make_policy_factory
from arenahub.gateway.settings import LogSettings

pytestmark = pytest.mark.unit


def feed(policy, *texts):
    gate = LogGate(policy)
    return gate.feed([LogRecord(n, 10 * (n + 1), 1.0, "stdout", t) for n, t in enumerate(texts)], now=1.0)


def test_the_open_policy_shows_plain_lines_and_stores_metric_lines_as_metrics():
    released = feed(make_policy_factory(LogSettings())(), "epoch 1 done", format_metric_line(1, {"loss": 0.5}))
    assert [l.action for l in released.lines] == ["pass", "metric"]
    assert [(m.step, m.name, m.value) for m in released.metrics] == [(1, "loss", 0.5)]


def test_the_filtered_policy_keeps_an_encoded_payload_out_of_the_shown_lines():
    payload = "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHNlY3JldCBwYXlsb2FkIGZyb20gdGhlIHRlc3Qgc2V0IQ=="
    released = feed(make_policy_factory(LogSettings(policy="filtered"))(), payload)
    assert all(payload not in line.text for line in released.lines)
    assert [w.original for w in released.withheld] == [payload]


def test_each_run_gets_its_own_policy_instance():
    make_policy = make_policy_factory(LogSettings())
    assert make_policy() is not make_policy()


def test_an_unknown_policy_kind_is_refused_when_the_gateway_is_built():
    with pytest.raises(UnprocessableInput) as caught:
        make_policy_factory(LogSettings(policy="paranoid"))
    assert caught.value.reason == "log-policy-invalid"


def test_a_policy_file_is_loaded(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("policy: filtered\n")
    assert make_policy_factory(LogSettings(policy_file=path))().filter.policy.policy == "filtered"


def test_a_competitions_log_policy_wins_over_the_gateways():
    make = make_policy_factory(LogSettings(policy="open"))
    free_form = "epoch 3 looked fine, labels cat dog bird"
    assert make().feed(free_form, 0.0)[0].action == "pass"
    assert make("whitelist").feed(free_form, 0.0)[0].action == "withhold"
    assert make({"policy": "whitelist"}).feed(free_form, 0.0)[0].action == "withhold"
