"""What tests tell kwok: pod lifecycle knobs (see kwok-stages.yaml) and pod logs served from files."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

READY_DELAY = "pod-ready.stage.kwok.x-k8s.io/delay"
COMPLETE_DELAY = "pod-complete.stage.kwok.x-k8s.io/delay"
EXIT_CODE = "pod-complete.stage.kwok.x-k8s.io/exit-code"
KWOK_API_VERSION = "kwok.x-k8s.io/v1alpha1"


def _go_duration(seconds: float) -> str:
    if seconds < 0:
        raise ValueError(f"a kwok stage delay cannot be negative, got {seconds} s")
    return f"{int(round(seconds * 1000))}ms"


def build_pod_lifecycle_annotations(
    *, pending_s: float | None = None, run_s: float | None = None, exit_code: int | None = None
) -> dict[str, str]:
    """Pod (template) annotations that drive the harness's kwok stages.

    pending_s: seconds between scheduling and Running (default 0). run_s: seconds a Job's pod
    stays Running before it ends (default 1; use e.g. 86400 for "never ends"). exit_code: 0
    (default) ends it Succeeded, anything else Failed with that exit code. Only Job pods end.
    """
    annotations = {}
    if pending_s is not None:
        annotations[READY_DELAY] = _go_duration(pending_s)
    if run_s is not None:
        annotations[COMPLETE_DELAY] = _go_duration(run_s)
    if exit_code is not None:
        if not 0 <= exit_code <= 255:
            raise ValueError(f"exit code must be in 0..255, got {exit_code}")
        annotations[EXIT_CODE] = str(exit_code)
    return annotations


def format_cri_log(lines: Iterable[str], now: datetime, *, stream: str = "stdout") -> str:
    """Lines in the CRI container-log format that kwok (like the kubelet) reads back.

    Each line becomes '<RFC3339Nano time> <stream> F <text>'; all share timestamp `now`
    (1 microsecond apart, so `sinceTime` and ordering still work). Raises ValueError for a
    stream other than stdout/stderr or a line containing a newline.
    """
    if stream not in ("stdout", "stderr"):
        raise ValueError(f"stream must be 'stdout' or 'stderr', got {stream!r}")
    now = now.astimezone(timezone.utc)
    out = []
    for i, line in enumerate(lines):
        if "\n" in line:
            raise ValueError(f"log line {i} contains a newline; pass one line per item")
        at = now + timedelta(microseconds=i)
        out.append(f"{at.strftime('%Y-%m-%dT%H:%M:%S.%f')}000Z {stream} F {line}\n")
    return "".join(out)


def build_logs_resource(
    log_file: str, *, namespace: str, pod_name: str | None = None, containers: Iterable[str] = ()
) -> dict[str, Any]:
    """A kwok resource telling kwok's server to answer pod-log requests from `log_file`.

    With `pod_name`: a namespaced `Logs` object for that pod. Without: a `ClusterLogs` object
    for every pod of `namespace` (named `ns-<namespace>`), so pods whose names are generated
    (Jobs) get logs without knowing their names first. `containers` limits it to those
    containers (empty: every container).
    """
    log: dict[str, Any] = {"logsFile": log_file, "follow": False}
    if containers:
        log["containers"] = list(containers)
    if pod_name is not None:
        return {
            "apiVersion": KWOK_API_VERSION,
            "kind": "Logs",
            "metadata": {"name": pod_name, "namespace": namespace},
            "spec": {"logs": [log]},
        }
    return {
        "apiVersion": KWOK_API_VERSION,
        "kind": "ClusterLogs",
        "metadata": {"name": f"ns-{namespace}"},
        "spec": {"selector": {"matchNamespaces": [namespace]}, "logs": [log]},
    }
