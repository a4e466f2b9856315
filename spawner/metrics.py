"""arenahub's collectors in JupyterHub's own registry, served with the hub's metrics at ``/hub/metrics``.

JupyterHub serves ``prometheus_client.REGISTRY`` at ``/hub/metrics`` to tokens with the
``read:metrics`` scope (the ``arenahub-metrics`` role), so spawns by profile, running servers
and GPU slices appear next to JupyterHub's own ``jupyterhub_*`` metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from arenahub.core import metricnames as mn

SPAWN_FAILURE_REASONS = ("no-slice-free", "bad-profile", "server-exited", "timeout", "error")


@dataclass(frozen=True)
class PoolView:
    """What the spawner holds now: GPU indices offered to notebooks, held slices' (gpu, fraction), servers' profiles."""

    gpu_indices: Sequence[int] = ()
    slices: Sequence[tuple[int, float]] = ()
    server_profiles: Mapping[str, str] = field(default_factory=dict)


def make_pool_gauges(view: PoolView) -> dict[str, dict[tuple[str, ...], float]]:
    """Gauge values per metric name and label values, from one view of the pool (pure)."""
    allocated = {(str(i),): 0.0 for i in view.gpu_indices}
    held = {(str(i),): 0.0 for i in view.gpu_indices}
    for index, fraction in view.slices:
        allocated[(str(index),)] = allocated.get((str(index),), 0.0) + fraction
        held[(str(index),)] = held.get((str(index),), 0.0) + 1
    running: dict[tuple[str, ...], float] = {}
    for profile in view.server_profiles.values():
        running[(profile,)] = running.get((profile,), 0.0) + 1
    return {
        mn.SLICES_ALLOCATED.name: {k: round(min(v, 1.0), 6) for k, v in allocated.items()},
        mn.SLICES_FREE.name: {k: round(max(0.0, 1.0 - v), 6) for k, v in allocated.items()},
        mn.SLICES_HELD.name: held,
        mn.RUNNING_SERVERS.name: running,
    }


class PoolCollector(Collector):
    """Reads the spawner's slice table at scrape time (``read_pool`` must be cheap and never block)."""

    def __init__(self, read_pool: Callable[[], PoolView]) -> None:
        self.read_pool = read_pool

    def collect(self) -> Iterator[Metric]:
        values = make_pool_gauges(self.read_pool())
        for metric in (mn.SLICES_ALLOCATED, mn.SLICES_FREE, mn.SLICES_HELD, mn.RUNNING_SERVERS):
            family = GaugeMetricFamily(metric.name, metric.help, labels=metric.labels)
            for labels, value in sorted(values[metric.name].items()):
                family.add_metric(list(labels), value)
            yield family


class HubMetrics:
    """Spawn counters and the spawn-duration histogram, registered once per registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.spawns = Counter(mn.SPAWNS.name, mn.SPAWNS.help, mn.SPAWNS.labels, registry=registry)
        self.spawn_duration = Histogram(mn.SPAWN_DURATION.name, mn.SPAWN_DURATION.help, mn.SPAWN_DURATION.labels,
                                        buckets=mn.SPAWN_BUCKETS_S, registry=registry)
        self.spawn_failures = Counter(mn.SPAWN_FAILURES.name, mn.SPAWN_FAILURES.help, mn.SPAWN_FAILURES.labels,
                                      registry=registry)
        self.pool: PoolCollector | None = None

    def spawn_succeeded(self, profile: str, duration_s: float) -> None:
        """Count a server that started and record how long it took."""
        self.spawns.labels(profile, "ok").inc()
        self.spawn_duration.labels(profile).observe(duration_s)

    def spawn_failed(self, profile: str, reason: str) -> None:
        """Count a failed start; ``reason`` is one of SPAWN_FAILURE_REASONS (others count as ``error``)."""
        self.spawns.labels(profile, "failed").inc()
        self.spawn_failures.labels(profile, reason if reason in SPAWN_FAILURE_REASONS else "error").inc()

    def ensure_pool_collector(self, read_pool: Callable[[], PoolView]) -> None:
        """Register the slice-table collector once (later calls keep the first reader)."""
        if self.pool is None:
            self.pool = PoolCollector(read_pool)
            self.registry.register(self.pool)


_BY_REGISTRY: dict[int, HubMetrics] = {}


def ensure_hub_metrics(registry: CollectorRegistry = REGISTRY) -> HubMetrics:
    """The HubMetrics of ``registry`` (JupyterHub's default one unless given), created on first call."""
    metrics = _BY_REGISTRY.get(id(registry))
    if metrics is None:
        metrics = _BY_REGISTRY[id(registry)] = HubMetrics(registry)
    return metrics
