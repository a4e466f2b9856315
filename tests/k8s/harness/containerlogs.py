"""Per-container pod logs from kwok: each container of a namespace's pods answers its own lines.

``ControlPlane.serve_pod_logs`` gives every container of a pod the same lines; a pod with a
sidecar whose log the code under test reads separately (the test run's collector) needs one
file per container in one kwok ``ClusterLogs`` object, which is what this builds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path

from kubernetes import client as k8s

from .cluster import ControlPlane
from .kwok import KWOK_API_VERSION, format_cri_log


def build_container_logs_resource(namespace: str, files: Mapping[str, str]) -> dict:
    """A kwok ``ClusterLogs`` for every pod of ``namespace``: container name -> log file path."""
    return {
        "apiVersion": KWOK_API_VERSION,
        "kind": "ClusterLogs",
        "metadata": {"name": f"ns-{namespace}"},
        "spec": {"selector": {"matchNamespaces": [namespace]},
                 "logs": [{"containers": [name], "logsFile": path, "follow": False} for name, path in files.items()]},
    }


def serve_container_logs(plane: ControlPlane, namespace: str, logs: Mapping[str, Sequence[str]]) -> dict[str, Path]:
    """Make ``GET .../pods/<pod>/log?container=<name>`` answer ``logs[name]`` for every pod of
    ``namespace``; replaces what ``serve_pod_logs`` set for the namespace. Returns the files by container."""
    plane.pod_log_dir.mkdir(exist_ok=True)
    now = datetime.now(timezone.utc)
    files = {}
    for container, lines in logs.items():
        path = plane.pod_log_dir / f"{namespace}--container-{container}.log"
        path.write_text(format_cri_log(lines, now))
        files[container] = path
    resource = build_container_logs_resource(namespace, {name: str(path) for name, path in files.items()})
    with plane.api_client() as api:
        custom = k8s.CustomObjectsApi(api)
        try:
            custom.create_cluster_custom_object("kwok.x-k8s.io", "v1alpha1", "clusterlogs", resource)
        except k8s.ApiException as e:
            if e.status != 409:
                raise
            custom.patch_cluster_custom_object("kwok.x-k8s.io", "v1alpha1", "clusterlogs", resource["metadata"]["name"],
                                               {"spec": resource["spec"]})
    return files
