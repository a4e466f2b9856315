"""Undo what a spawner test made on the coding cluster: its namespace, KWOK nodes and PVs, KUBECONFIG."""

from __future__ import annotations

import os
from collections.abc import Iterable


def remove_test_namespace(core, namespace: str, nodes: Iterable[str], old_kubeconfig: str | None) -> None:
    """Restore KUBECONFIG and delete the test's namespace, its nodes and the PVs labelled for it."""
    if old_kubeconfig is None:
        os.environ.pop("KUBECONFIG", None)
    else:
        os.environ["KUBECONFIG"] = old_kubeconfig
    core.delete_namespace(namespace, propagation_policy="Background")
    for node in nodes:
        core.delete_node(node)
    for pv in core.list_persistent_volume(label_selector=f"arenahub.io/test-namespace={namespace}").items:
        core.delete_persistent_volume(pv.metadata.name)
