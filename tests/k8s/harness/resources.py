"""Kubernetes objects the harness ensures through the API: kwok's CRDs, namespaces, ready nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import yaml
from kubernetes import client as k8s

from .binaries import KWOK_CRD_FILES
from .processes import ManagedProcess, wait_until


def ensure_kwok_crds(
    extensions: k8s.ApiextensionsV1Api, crd_dir: Path, *, timeout_s: float
) -> None:
    """Create kwok's Logs and ClusterLogs CRDs from `crd_dir` (if absent) and wait until they are Established."""
    names = []
    for file_name in KWOK_CRD_FILES:
        crd = yaml.safe_load((crd_dir / file_name).read_text())
        names.append(crd["metadata"]["name"])
        try:
            extensions.create_custom_resource_definition(body=crd)
        except k8s.ApiException as e:
            if e.status != 409:
                raise

    def established() -> bool:
        for name in names:
            status = extensions.read_custom_resource_definition(name).status
            conditions = {c.type: c.status for c in (status.conditions or [])} if status else {}
            if conditions.get("Established") != "True":
                return False
        return True

    wait_until("kwok CRDs to be established", established, timeout_s=timeout_s)


def ensure_namespace(
    core: k8s.CoreV1Api,
    name: str,
    labels: Mapping[str, str],
    *,
    timeout_s: float,
    watched: Sequence[ManagedProcess] = (),
) -> None:
    """Create namespace `name` with `labels` unless it exists, then wait for its `default`
    service account (made by the controller manager; the API server refuses pods without it)."""
    try:
        core.create_namespace(body=k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name, labels=dict(labels))))
    except k8s.ApiException as e:
        if e.status != 409:
            raise

    def has_default_account() -> bool:
        try:
            core.read_namespaced_service_account("default", name)
        except k8s.ApiException as e:
            if e.status == 404:
                return False
            raise
        return True

    wait_until(f"service account default/{name}", has_default_account, timeout_s=timeout_s, watched=watched)


def node_is_schedulable(node: k8s.V1Node) -> bool:
    """Ready=True and none of the taints the node controller puts on nodes that are not ready yet."""
    conditions = {c.type: c.status for c in (node.status.conditions or [])} if node.status else {}
    not_ready_taints = {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}
    taints = {t.key for t in (node.spec.taints or [])} if node.spec else set()
    return conditions.get("Ready") == "True" and not (taints & not_ready_taints)


def wait_nodes_ready(
    core: k8s.CoreV1Api,
    names: Sequence[str],
    *,
    timeout_s: float,
    watched: Sequence[ManagedProcess] = (),
) -> None:
    """Wait until every node in `names` is Ready and schedulable (see node_is_schedulable)."""
    wanted = set(names)

    def all_ready() -> bool:
        nodes = core.list_node().items
        ready = {n.metadata.name for n in nodes if n.metadata and node_is_schedulable(n)}
        return wanted <= ready

    wait_until(f"nodes {', '.join(sorted(wanted))} to be Ready", all_ready, timeout_s=timeout_s, watched=watched)
