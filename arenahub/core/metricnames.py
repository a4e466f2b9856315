"""Names, help texts and buckets of arenahub's Prometheus metrics, shared by the hub, the gateway and the docs.

Names follow Prometheus conventions (https://prometheus.io/docs/practices/naming/): the
``arenahub_`` prefix, base units in the name (``_seconds``, ``_bytes``), ``_total`` on counters
(prometheus-client appends it to a Counter's name, so the names below omit it for counters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["counter", "gauge", "histogram"]

# Seconds: spawns take ~1-60 s; queue waits from under a second to a day.
SPAWN_BUCKETS_S = (0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300)
WAIT_BUCKETS_S = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 3 * 3600, 12 * 3600, 24 * 3600)


@dataclass(frozen=True)
class MetricName:
    """One metric: its name (counters without ``_total``), kind, help text and label names."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()

    @property
    def exposed(self) -> str:
        """The name as a scrape shows it (``_total`` appended to counters)."""
        return self.name + "_total" if self.kind == "counter" else self.name


# ---------------------------------------------------------------- hub (served at /hub/metrics)
SPAWNS = MetricName("arenahub_spawns", "counter", "Notebook server starts, by profile and result (ok, failed).",
                    ("profile", "result"))
SPAWN_DURATION = MetricName("arenahub_spawn_duration_seconds", "histogram",
                            "Seconds from the spawner's start() to the server answering, by profile.", ("profile",))
SPAWN_FAILURES = MetricName("arenahub_spawn_failures", "counter",
                            "Failed notebook server starts, by profile and reason (no-slice-free, "
                            "bad-profile, server-exited, timeout, error).", ("profile", "reason"))
RUNNING_SERVERS = MetricName("arenahub_running_servers", "gauge", "Notebook servers running now, by profile.",
                             ("profile",))
SLICES_ALLOCATED = MetricName("arenahub_gpu_slice_allocated_ratio", "gauge",
                              "Share of each GPU (0-1) held by notebook slices.", ("gpu",))
SLICES_FREE = MetricName("arenahub_gpu_slice_free_ratio", "gauge",
                         "Share of each GPU (0-1) still free for notebook slices.", ("gpu",))
SLICES_HELD = MetricName("arenahub_gpu_slices", "gauge", "Notebook slices held on each GPU.", ("gpu",))

# ---------------------------------------------------------------- gateway (served at <gateway>/metrics)
QUEUE_LENGTH = MetricName("arenahub_queue_length", "gauge", "Jobs waiting to start.")
QUEUE_GPUS = MetricName("arenahub_queue_gpus", "gauge", "Whole GPUs asked for by the jobs waiting to start.")
QUEUE_WAIT = MetricName("arenahub_queue_wait_seconds", "histogram",
                        "Seconds a job waited in the queue before it started, by GPUs asked for.", ("gpus",))
JOBS = MetricName("arenahub_jobs", "gauge", "Jobs in the gateway's database, by status.", ("status",))
JOBS_FINISHED = MetricName("arenahub_jobs_finished", "counter",
                           "Jobs this gateway process saw finish, by final status.", ("status",))
JOB_GPUS_HELD = MetricName("arenahub_job_gpus_held", "gauge", "Whole GPUs held by running jobs, by node.",
                           ("node",))
GPU_SECONDS_CHARGED = MetricName("arenahub_gpu_seconds_charged", "counter",
                                 "GPU-seconds charged to quotas in the ledger, by source (job, notebook).",
                                 ("source",))
LOG_LINES = MetricName("arenahub_log_lines", "counter",
                       "Job output lines decided by the log policy, by action (passed, metric, redacted, "
                       "withheld, marker) and reason.", ("action", "reason"))
QUOTA_REFUSALS = MetricName("arenahub_quota_refusals", "counter", "Requests refused by a quota, by reason.",
                            ("reason",))
REFUSALS = MetricName("arenahub_gateway_refusals", "counter",
                      "Requests the gateway refused with a 4xx/5xx error, by status and reason.",
                      ("status", "reason"))

# ---------------------------------------------------------------- GPU sampler (gateway)
GPU_UTILISATION = MetricName("arenahub_gpu_utilisation_ratio", "gauge",
                             "Busy share (0-1) of each GPU's SMs over the last sample.", ("gpu", "uuid"))
GPU_MEMORY_USED = MetricName("arenahub_gpu_memory_used_bytes", "gauge", "Memory in use on each GPU.",
                             ("gpu", "uuid"))
GPU_MEMORY_TOTAL = MetricName("arenahub_gpu_memory_total_bytes", "gauge", "Memory of each GPU.", ("gpu", "uuid"))
OWNER_UTILISATION = MetricName("arenahub_gpu_owner_utilisation_ratio", "gauge",
                               "Busy share (0-1) of a whole GPU used by one notebook server or job.",
                               ("gpu", "kind", "user", "owner"))
OWNER_MEMORY = MetricName("arenahub_gpu_owner_memory_used_bytes", "gauge",
                          "GPU memory used by one notebook server or job.", ("gpu", "kind", "user", "owner"))
SAMPLER_UP = MetricName("arenahub_gpu_sampler_up", "gauge",
                        "1 when the GPU sampler reads NVML, 0 when this machine has no readable GPU.")

HUB_METRICS = (SPAWNS, SPAWN_DURATION, SPAWN_FAILURES, RUNNING_SERVERS, SLICES_ALLOCATED, SLICES_FREE, SLICES_HELD)
GATEWAY_METRICS = (QUEUE_LENGTH, QUEUE_GPUS, QUEUE_WAIT, JOBS, JOBS_FINISHED, JOB_GPUS_HELD, GPU_SECONDS_CHARGED,
                   LOG_LINES, QUOTA_REFUSALS, REFUSALS, GPU_UTILISATION, GPU_MEMORY_USED, GPU_MEMORY_TOTAL,
                   OWNER_UTILISATION, OWNER_MEMORY, SAMPLER_UP)
