"""Every values set of both charts, rendered by helm and sent to the harness's API servers as a
server-side dry run with strict field validation: schema, defaulting and admission all answer."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.dynamic import DynamicClient

from tests.k8s.harness import ControlPlane
from tests.unit.helm.charts import (
    CODING_SETS,
    TRAINING_SETS,
    ValuesSet,
    ensure_kueue_crds,
    helm_binary,
    render,
)

pytestmark = [
    pytest.mark.k8s,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]


def dry_run_create(api: k8s.ApiClient, dynamic: DynamicClient, obj: dict[str, Any], namespace: str) -> None:
    """POST ``obj`` with dryRun=All and fieldValidation=Strict; raises ApiException when refused.

    Strict field validation turns unknown or duplicated fields (a typo in a template) into a 400
    instead of the warning the API server gives by default.
    """
    resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    path = resource.path(namespace=obj["metadata"].get("namespace", namespace) if resource.namespaced else None)
    request = api.param_serialize(
        "POST", path, query_params=[("dryRun", "All"), ("fieldValidation", "Strict")],
        header_params={"Content-Type": "application/json", "Accept": "application/json"}, body=obj,
    )
    response = api.call_api(*request)
    response.read()
    if not 200 <= response.status <= 299:
        raise k8s.ApiException(http_resp=response)


def _accepts_all(cluster: ControlPlane, objects: list[dict[str, Any]], namespace: str) -> list[str]:
    """Dry-run every object; Namespaces are created for real first (objects inside them need
    them), and deleted at the end. Returns 'Kind/name: reason' for each refusal."""
    refusals = []
    with cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        created = []
        try:
            for obj in objects:
                if obj["kind"] == "Namespace":
                    core.create_namespace(body=obj)
                    created.append(obj["metadata"]["name"])
            dynamic = DynamicClient(api)
            for obj in objects:
                if obj["kind"] == "Namespace":
                    continue
                try:
                    dry_run_create(api, dynamic, obj, namespace)
                except k8s.ApiException as e:
                    refusals.append(f"{obj['kind']}/{obj['metadata']['name']}: {e.status} {e.body}")
        finally:
            for name in created:
                core.delete_namespace(name, propagation_policy="Background")
    return refusals


@pytest.fixture(scope="module")
def kueue_training(training_cluster: ControlPlane) -> Iterator[ControlPlane]:
    with training_cluster.api_client() as api:
        ensure_kueue_crds(api)
    yield training_cluster


@pytest.mark.parametrize("values_set", CODING_SETS, ids=lambda s: s.name)
def test_coding_values_sets_are_accepted_by_the_api_server(coding_cluster: ControlPlane, values_set: ValuesSet):
    with coding_cluster.namespace("dryrun") as namespace:
        objects = render(values_set, release="arena", namespace=namespace)
        assert _accepts_all(coding_cluster, objects, namespace) == []


@pytest.mark.parametrize("values_set", TRAINING_SETS, ids=lambda s: s.name)
def test_training_values_sets_are_accepted_by_the_api_server(kueue_training: ControlPlane, values_set: ValuesSet):
    prefix = f"dr{secrets.token_hex(2)}-"  # competition namespaces of their own
    values = ValuesSet(values_set.name, values_set.chart, {**values_set.values, "namespacePrefix": prefix},
                       values_set.api_versions)
    with kueue_training.namespace("dryrun") as namespace:
        objects = render(values, release="arena", namespace=namespace)
        assert _accepts_all(kueue_training, objects, namespace) == []


def test_a_template_typo_would_be_caught_by_strict_validation(coding_cluster: ControlPlane):
    objects = render(ValuesSet("defaults", CODING_SETS[0].chart, {}), release="arena", namespace="default")
    service = next(o for o in objects if o["kind"] == "Service")
    service["spec"]["portz"] = service["spec"].pop("ports")
    refusals = _accepts_all(coding_cluster, [service], "default")
    assert len(refusals) == 1 and 'unknown field \\"spec.portz\\"' in refusals[0]


def _probe_pod(workload: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The Pod a Deployment or StatefulSet would make, ready for a dry run on its own: without its
    ServiceAccount (not created in a dry run) and with claim templates as plain volumes."""
    spec = dict(workload["spec"]["template"]["spec"])
    spec.pop("serviceAccountName", None)
    templates = workload["spec"].get("volumeClaimTemplates", [])
    spec["volumes"] = [*spec.get("volumes", []), *({"name": t["metadata"]["name"], "emptyDir": {}} for t in templates)]
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{workload['metadata']['name']}-probe", "namespace": namespace,
                         "labels": workload["spec"]["template"]["metadata"]["labels"]},
            "spec": spec}


@pytest.mark.parametrize("values_set", [s for s in CODING_SETS if s.name in ("coding-hami", "coding-in-chart-db")],
                         ids=lambda s: s.name)
def test_the_coding_charts_own_pods_pass_the_restricted_pod_security_standard(
    coding_cluster: ControlPlane, values_set: ValuesSet
):
    """Pod Security admission judges Pods, not Deployments: each workload's pod template is sent
    as a Pod (dry run) into a namespace that enforces `restricted`."""
    restricted = {"pod-security.kubernetes.io/enforce": "restricted"}
    with coding_cluster.namespace("psa", restricted) as namespace:
        objects = render(values_set, release="arena", namespace=namespace)
        pods = [_probe_pod(o, namespace) for o in objects if o["kind"] in ("Deployment", "StatefulSet")]
        assert len(pods) == (4 if values_set.name == "coding-in-chart-db" else 3)
        assert _accepts_all(coding_cluster, pods, namespace) == []
