"""Training-pool placement of Jobs from the Helm values to the real scheduler: node selector,
tolerations, ttlSecondsAfterFinished and priority class go chart -> gateway settings -> Job spec.

The values are rendered by helm (both charts), the gateway container's environment is read by
the gateway's own settings class, and the executor those settings make starts Jobs on a node
pool of the test's own: only the node with the pool label *and* a tolerated taint may take them.
"""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from arenahub.gateway.executor_settings import make_executor
from arenahub.gateway.executors.kubernetes import KubernetesExecutor, parse_handle
from arenahub.gateway.settings import GatewaySettings
from tests.k8s.harness import ControlPlane, build_pod_lifecycle_annotations, build_training_nodes
from tests.k8s.podservers import wait_for
from tests.k8s.test_kube_executor import make_spec
from tests.unit.helm.charts import CODING_CHART, TRAINING_CHART, ValuesSet, helm_binary, only, render

pytestmark = [
    pytest.mark.k8s,
    pytest.mark.timeout(180),
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]

DEDICATED = "arenahub.io/dedicated"


def gateway_env(objects: list[dict[str, Any]]) -> dict[str, str]:
    """The gateway container's plain environment variables in a rendered arenahub-coding chart."""
    deployment = only(objects, "Deployment", "arena-arenahub-coding-gateway")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def executor_from_chart(values: dict[str, Any], cluster: ControlPlane, monkeypatch: pytest.MonkeyPatch,
                        tmp_path: Path) -> KubernetesExecutor:
    """The executor the gateway would make from the coding chart rendered with ``values``
    (pointed at the harness's training cluster instead of the mounted kubeconfig)."""
    env = gateway_env(render(ValuesSet("placement", CODING_CHART, values)))
    for name, value in env.items():
        if name.startswith("ARENAHUB_GATEWAY_EXECUTOR__"):
            monkeypatch.setenv(name, value)
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__KUBECONFIG", str(cluster.kubeconfig))
    monkeypatch.setenv("ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__ENSURE_NAMESPACES", "true")
    monkeypatch.setenv("ARENAHUB_GATEWAY_ENVIRONMENT", "dev")
    executor = make_executor(GatewaySettings().executor, tmp_path)
    assert isinstance(executor, KubernetesExecutor)
    executor.poll_interval_s = 0.2
    return executor


def code_folder(tmp_path: Path) -> Path:
    """A job folder with one script (kwok runs nothing; the init step would unpack it)."""
    folder = tmp_path / "code"
    folder.mkdir(exist_ok=True)
    (folder / "train.py").write_text("print('hello')\n")
    return folder


async def test_pool_placement_from_the_charts_lands_jobs_only_on_the_matching_tainted_node_and_ttl_removes_them(
    training_cluster: ControlPlane, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    pool = f"ded-{secrets.token_hex(3)}"
    competition = f"comp-{secrets.token_hex(3)}"
    priority_class = f"arenahub-training-{pool}"
    mine = {"key": DEDICATED, "value": pool, "effect": "NoSchedule"}
    nodes = training_cluster.create_nodes([
        *build_training_nodes(1, 3, name_prefix=f"{pool}-dedicated", pool=pool, taints=[mine]),
        # the right pool label but another team's taint, and an untainted node outside the pool
        *build_training_nodes(1, 3, name_prefix=f"{pool}-foreign", pool=pool, taints=[{**mine, "value": "other"}]),
        *build_training_nodes(1, 3, name_prefix=f"{pool}-open", pool=f"{pool}-elsewhere"),
    ])
    # the training chart makes the PriorityClass the coding chart's gateway names
    [priority_manifest] = [o for o in render(ValuesSet("prio", TRAINING_CHART, {"jobPriorityClass": {
        "create": True, "name": priority_class, "value": 4242}})) if o["kind"] == "PriorityClass"]
    with training_cluster.api_client() as api:
        k8s.SchedulingV1Api(api).create_priority_class(priority_manifest)
    executor = executor_from_chart({"gateway": {"training": {
        "kubeconfigSecret": "training-kube", "image": "registry.invalid/arenahub/job:test",
        "nodeSelector": {"arenahub.io/pool": pool},
        "tolerations": [{"key": DEDICATED, "operator": "Equal", "value": pool, "effect": "NoSchedule"},
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "ttlSecondsAfterFinished": 2, "priorityClassName": priority_class},
        # kwok's lifecycle knob, through the pod_annotations setting the chart has no value for
        "extraEnv": {"ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__POD_ANNOTATIONS": json.dumps(
            build_pod_lifecycle_annotations(run_s=3))},
    }}, training_cluster, monkeypatch, tmp_path)
    namespace = f"arenahub-runs-{competition}"
    try:
        handles = [await executor.start(make_spec(code_folder(tmp_path), competition)) for _ in range(3)]
        names = {parse_handle(h)[1] for h in handles}
        with training_cluster.api_client() as api:
            batch, core = k8s.BatchV1Api(api), k8s.CoreV1Api(api)
            jobs = [batch.read_namespaced_job(name, namespace) for name in names]

            def placed() -> list[Any] | None:
                pods = [p for p in core.list_namespaced_pod(namespace).items if p.spec.node_name]
                return pods if len(pods) == 3 else None

            pods = wait_for("all three job pods to be bound", placed, timeout_s=60)
            gone = wait_for("the finished Jobs to be removed by their TTL", lambda: not [
                j for j in batch.list_namespaced_job(namespace).items if j.metadata.name in names], timeout_s=60)
    finally:
        await executor.aclose()
        with training_cluster.api_client() as api:
            core = k8s.CoreV1Api(api)
            core.delete_namespace(namespace, propagation_policy="Background")
            k8s.SchedulingV1Api(api).delete_priority_class(priority_class)
            for node in nodes:
                core.delete_node(node)
    assert {p.spec.node_name for p in pods} == {f"{pool}-dedicated-0"}
    for job in jobs:
        assert job.spec.ttl_seconds_after_finished == 2
        spec = job.spec.template.spec
        assert spec.node_selector == {"arenahub.io/pool": pool}
        assert {"key": DEDICATED, "value": pool} in [{"key": t.key, "value": t.value} for t in spec.tolerations]
        assert spec.priority_class_name == priority_class
    assert {p.spec.priority for p in pods} == {4242}  # the API server resolved the class
    assert gone
