"""Tests of arenahub.gateway.observability: what each event adds to the gateway's registry."""

import pytest
from prometheus_client import generate_latest

from arenahub.core import metricnames
from arenahub.gateway.loggate import Released
from arenahub.gateway.logstore import ShownLine, WithheldOriginal
from arenahub.gateway.observability import GatewayMetrics, GatewaySnapshot, reason_label

pytestmark = pytest.mark.unit


def sample(metrics, name, **labels):
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_shown_redacted_and_withheld_lines_are_counted_by_action_and_reason():
    metrics = GatewayMetrics()
    metrics.lines_released(Released(
        lines=[ShownLine(0, 1.0, "stdout", "epoch 1", "pass"), ShownLine(1, 1.0, "stdout", "loss=0.1", "metric"),
               ShownLine(2, 1.0, "stdout", "token [redacted]", "redact")],
        withheld=[WithheldOriginal(2, 1.0, "stdout", "token abc", "redact", "encoded-data"),
                  WithheldOriginal(3, 1.0, "stdout", "aGVsbG8=", "withhold", "not-whitelisted")],
    ))
    assert sample(metrics, "arenahub_log_lines_total", action="passed", reason="") == 1
    assert sample(metrics, "arenahub_log_lines_total", action="metric", reason="") == 1
    assert sample(metrics, "arenahub_log_lines_total", action="redacted", reason="encoded-data") == 1
    assert sample(metrics, "arenahub_log_lines_total", action="withheld", reason="not-whitelisted") == 1


@pytest.mark.parametrize("reason, label", [
    ("leak-budget", "leak-budget"),
    ("shown-bytes-cap,traceback-detail", "shown-bytes-cap,traceback-detail"),
    ("The user's secret is 42", "other"),
    ("", ""),
])
def test_only_short_reason_codes_become_label_values(reason, label):
    assert reason_label(reason) == label


def test_quota_refusals_count_twice_and_other_refusals_once():
    metrics = GatewayMetrics()
    metrics.request_refused(status=429, reason="quota-weekly", is_quota=True)
    metrics.request_refused(status=422, reason="gpus-over-cap", is_quota=False)
    assert sample(metrics, "arenahub_quota_refusals_total", reason="quota-weekly") == 1
    assert sample(metrics, "arenahub_gateway_refusals_total", status="422", reason="gpus-over-cap") == 1
    assert sample(metrics, "arenahub_quota_refusals_total", reason="gpus-over-cap") == 0


def test_queue_waits_land_in_buckets_by_gpus_asked_for():
    metrics = GatewayMetrics()
    metrics.job_started(wait_s=42, gpus=4)
    metrics.job_started(wait_s=-1, gpus=4)  # clock skew never gives a negative wait
    assert sample(metrics, "arenahub_queue_wait_seconds_count", gpus="4") == 2
    assert sample(metrics, "arenahub_queue_wait_seconds_bucket", gpus="4", le="60.0") == 2
    assert sample(metrics, "arenahub_queue_wait_seconds_bucket", gpus="4", le="30.0") == 1


def test_the_database_snapshot_appears_as_gauges_and_a_gpu_seconds_counter():
    metrics = GatewayMetrics()
    metrics.set_snapshot(GatewaySnapshot(jobs_by_status={"queued": 3, "running": 2}, queued_gpus=7,
                                         gpus_held_by_node={"n1": 4}, charged_gpu_s_by_source={"job": 3600.0}))
    assert sample(metrics, "arenahub_queue_length") == 3
    assert sample(metrics, "arenahub_queue_gpus") == 7
    assert sample(metrics, "arenahub_jobs", status="running") == 2
    assert sample(metrics, "arenahub_jobs", status="lost") == 0
    assert sample(metrics, "arenahub_job_gpus_held", node="n1") == 4
    assert sample(metrics, "arenahub_gpu_seconds_charged_total", source="job") == 3600
    assert sample(metrics, "arenahub_gpu_sampler_up") == 0


def test_every_gateway_metric_in_the_shared_names_is_exposed_and_follows_the_naming_rules():
    text = generate_latest(GatewayMetrics().registry).decode()
    for metric in metricnames.GATEWAY_METRICS:
        assert f"# HELP {metric.exposed} " in text or f"# HELP {metric.name} " in text, metric.name
    for metric in (*metricnames.GATEWAY_METRICS, *metricnames.HUB_METRICS):
        assert metric.name.startswith("arenahub_") and not metric.name.endswith("_total")
        assert metric.kind != "histogram" or metric.name.endswith("_seconds")
