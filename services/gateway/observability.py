"""The gateway's Prometheus metrics: its own registry, the counters the scheduler and log pump move, and scrape-time gauges."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from arenahub.core import metricnames as mn
from arenahub.gateway.gpumon import NvmlSnapshot, OwnerUsage
from arenahub.gateway.loggate import Released
from arenahub.gateway.models import JOB_STATUSES

_REASON_RE = re.compile(r"^[a-z0-9][a-z0-9_,:.-]{0,63}$")


def reason_label(reason: str) -> str:
    """A reason code fit to be a label value: short codes pass, anything else becomes ``other``.

    Label values make time series, so free text (which could also carry data) never becomes one.
    """
    return reason if _REASON_RE.match(reason) else ("" if not reason else "other")


@dataclass(frozen=True)
class GatewaySnapshot:
    """What the database says at scrape time: jobs per status, the queue, GPUs held, GPU-seconds charged."""

    jobs_by_status: Mapping[str, int] = field(default_factory=dict)
    queued_gpus: int = 0
    gpus_held_by_node: Mapping[str, int] = field(default_factory=dict)
    charged_gpu_s_by_source: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class GpuView:
    """The GPU sampler's latest pass, for the collector."""

    snapshot: NvmlSnapshot
    usages: tuple[OwnerUsage, ...] = ()


class _ScrapeCollector(Collector):
    """Yields the gauges of the latest database snapshot and GPU sample (set just before each scrape)."""

    def __init__(self) -> None:
        self.snapshot = GatewaySnapshot()
        self.gpus = GpuView(NvmlSnapshot(taken_at=0.0, error="the GPU sampler has not run yet"))

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        jobs = GaugeMetricFamily(mn.JOBS.name, mn.JOBS.help, labels=mn.JOBS.labels)
        for status in JOB_STATUSES:
            jobs.add_metric([status], s.jobs_by_status.get(status, 0))
        yield jobs
        yield GaugeMetricFamily(mn.QUEUE_LENGTH.name, mn.QUEUE_LENGTH.help, value=s.jobs_by_status.get("queued", 0))
        yield GaugeMetricFamily(mn.QUEUE_GPUS.name, mn.QUEUE_GPUS.help, value=s.queued_gpus)
        held = GaugeMetricFamily(mn.JOB_GPUS_HELD.name, mn.JOB_GPUS_HELD.help, labels=mn.JOB_GPUS_HELD.labels)
        for node, count in sorted(s.gpus_held_by_node.items()):
            held.add_metric([node], count)
        yield held
        charged = CounterMetricFamily(mn.GPU_SECONDS_CHARGED.name, mn.GPU_SECONDS_CHARGED.help,
                                      labels=mn.GPU_SECONDS_CHARGED.labels)
        for source in ("job", "notebook"):
            charged.add_metric([source], s.charged_gpu_s_by_source.get(source, 0.0))
        yield charged
        yield from self._gpu_metrics()

    def _gpu_metrics(self) -> Iterator[Metric]:
        view = self.gpus
        yield GaugeMetricFamily(mn.SAMPLER_UP.name, mn.SAMPLER_UP.help, value=1 if view.snapshot.has_gpus else 0)
        util = GaugeMetricFamily(mn.GPU_UTILISATION.name, mn.GPU_UTILISATION.help, labels=mn.GPU_UTILISATION.labels)
        used = GaugeMetricFamily(mn.GPU_MEMORY_USED.name, mn.GPU_MEMORY_USED.help, labels=mn.GPU_MEMORY_USED.labels)
        total = GaugeMetricFamily(mn.GPU_MEMORY_TOTAL.name, mn.GPU_MEMORY_TOTAL.help, labels=mn.GPU_MEMORY_TOTAL.labels)
        for gpu in view.snapshot.gpus:
            labels = [str(gpu.index), gpu.uuid]
            if gpu.util_pct is not None:
                util.add_metric(labels, gpu.util_pct / 100)
            used.add_metric(labels, gpu.mem_used_bytes)
            total.add_metric(labels, gpu.mem_total_bytes)
        owner_util = GaugeMetricFamily(mn.OWNER_UTILISATION.name, mn.OWNER_UTILISATION.help,
                                       labels=mn.OWNER_UTILISATION.labels)
        owner_mem = GaugeMetricFamily(mn.OWNER_MEMORY.name, mn.OWNER_MEMORY.help, labels=mn.OWNER_MEMORY.labels)
        for usage in view.usages:
            labels = [str(usage.gpu_index), usage.owner.kind, usage.owner.user, usage.owner.key]
            if usage.util_ratio is not None:
                owner_util.add_metric(labels, usage.util_ratio)
            owner_mem.add_metric(labels, usage.mem_used_bytes)
        yield from (util, used, total, owner_util, owner_mem)


class GatewayMetrics:
    """One gateway process's metrics in its own CollectorRegistry (never the global one).

    Counters count what this process saw since it started (Prometheus handles resets);
    gauges and the GPU-seconds total are read from the database and the sampler at scrape time.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.queue_wait = Histogram(mn.QUEUE_WAIT.name, mn.QUEUE_WAIT.help, mn.QUEUE_WAIT.labels,
                                    buckets=mn.WAIT_BUCKETS_S, registry=self.registry)
        self.jobs_finished = Counter(mn.JOBS_FINISHED.name, mn.JOBS_FINISHED.help, mn.JOBS_FINISHED.labels,
                                     registry=self.registry)
        self.log_lines = Counter(mn.LOG_LINES.name, mn.LOG_LINES.help, mn.LOG_LINES.labels, registry=self.registry)
        self.quota_refusals = Counter(mn.QUOTA_REFUSALS.name, mn.QUOTA_REFUSALS.help, mn.QUOTA_REFUSALS.labels,
                                      registry=self.registry)
        self.refusals = Counter(mn.REFUSALS.name, mn.REFUSALS.help, mn.REFUSALS.labels, registry=self.registry)
        self._scrape = _ScrapeCollector()
        self.registry.register(self._scrape)

    def job_started(self, *, wait_s: float, gpus: int) -> None:
        """Record how long a job waited in the queue before it started."""
        self.queue_wait.labels(str(gpus)).observe(max(0.0, wait_s))

    def job_finished(self, status: str) -> None:
        """Count a job that reached a final status."""
        self.jobs_finished.labels(status).inc()

    def lines_released(self, released: Released) -> None:
        """Count one commit's lines by the log policy's action and reason."""
        for line in released.lines:
            if line.action in ("pass", "metric", "marker"):
                self.log_lines.labels({"pass": "passed"}.get(line.action, line.action), "").inc()
        for original in released.withheld:
            action = "redacted" if original.action == "redact" else "withheld"
            self.log_lines.labels(action, reason_label(original.rule)).inc()

    def request_refused(self, *, status: int, reason: str, is_quota: bool) -> None:
        """Count a refused request; quota refusals are also counted on their own."""
        self.refusals.labels(str(status), reason_label(reason)).inc()
        if is_quota:
            self.quota_refusals.labels(reason_label(reason)).inc()

    def set_snapshot(self, snapshot: GatewaySnapshot) -> None:
        """The database figures the next scrape shows."""
        self._scrape.snapshot = snapshot

    def set_gpu_view(self, view: GpuView) -> None:
        """The GPU sample the next scrape shows."""
        self._scrape.gpus = view
