"""`helm install` and `helm upgrade` of both charts into the harness's two control planes, and the
executor's RBAC answered by the real API server with the ServiceAccount's own token."""

from __future__ import annotations

import base64
import importlib.util
import json
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.dynamic import DynamicClient

from tests.k8s.harness import ControlPlane
from tests.unit.helm.charts import (
    CODING_CHART,
    TRAINING_CHART,
    HelmFailed,
    ensure_kueue_crds,
    helm_binary,
    parse_manifests,
    profiles_for,
    run_helm,
    values_file,
)

pytestmark = [
    pytest.mark.k8s,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]

RELEASE = "arena"
HUB = f"{RELEASE}-arenahub-coding-hub"
# The harness has no load balancer: a LoadBalancer Service would keep `helm --wait` waiting.
# One profile sets its own unattended timeout; the gateway mounts a datasets volume.
CODING_VALUES = {
    "proxy": {"service": {"type": "NodePort"}},
    "singleuser": {"profileList": [{**p, "unattended_timeout_s": 600} if p["slug"] == "gpu-half" else p
                                   for p in profiles_for("hami")]},
    "gateway": {"extraVolumes": [{"name": "datasets", "emptyDir": {}}],
                "extraVolumeMounts": [{"name": "datasets", "mountPath": "/srv/datasets", "readOnly": True}]},
}
# Volumes the chart's PVCs bind to: the harness has no storage provisioner (static provisioning).
CODING_CLAIMS = {f"{RELEASE}-arenahub-coding-hub-db": "1Gi", f"{RELEASE}-arenahub-coding-gateway-state": "20Gi"}


def _wait(what: str, probe: Callable[[], Any], timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.25)


def _helm(cluster: ControlPlane, *args: str, values: dict[str, Any] | None = None) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        extra = ["-f", str(values_file(values, Path(tmp)))] if values is not None else []
        return run_helm([*args, *extra], kubeconfig=cluster.kubeconfig, timeout_s=240)


def _persistent_volume(name: str, size: str, namespace: str, claim: str,
                       access_modes: tuple[str, ...] = ("ReadWriteOnce",)) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name},
        "spec": {"capacity": {"storage": size}, "accessModes": list(access_modes), "storageClassName": "",
                 "hostPath": {"path": f"/srv/{name}"},
                 "claimRef": {"namespace": namespace, "name": claim}},
    }


def _hub_pod(core: k8s.CoreV1Api, namespace: str) -> k8s.V1Pod | None:
    pods = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/component=hub").items
    live = [p for p in pods if not p.metadata.deletion_timestamp and p.status.phase == "Running"]
    return live[0] if len(live) == 1 else None


def _missing_objects(api: k8s.ApiClient, manifest: str, namespace: str) -> list[str]:
    dynamic = DynamicClient(api)
    missing = []
    for obj in parse_manifests(manifest):
        resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        ns = obj["metadata"].get("namespace", namespace) if resource.namespaced else None
        try:
            resource.get(name=obj["metadata"]["name"], namespace=ns)
        except k8s.ApiException as e:
            missing.append(f"{obj['kind']}/{obj['metadata']['name']}: {e.status}")
    return missing


# -- coding cluster --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def coding_release(coding_cluster: ControlPlane) -> Iterator[str]:
    """The coding chart installed (and waited for) in a fresh namespace; yields the namespace."""
    with coding_cluster.namespace("arenahub") as namespace, coding_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        volumes = [_persistent_volume(f"{namespace}-{claim}", size, namespace, claim)
                   for claim, size in CODING_CLAIMS.items()]
        for volume in volumes:
            core.create_persistent_volume(body=volume)
        try:
            _helm(coding_cluster, "install", RELEASE, str(CODING_CHART), "--namespace", namespace,
                  "--wait", "--timeout", "120s", values=CODING_VALUES)
            yield namespace
        finally:
            for volume in volumes:
                core.delete_persistent_volume(volume["metadata"]["name"])


def test_coding_chart_installs_with_every_object_accepted(coding_cluster: ControlPlane, coding_release: str):
    manifest = _helm(coding_cluster, "get", "manifest", RELEASE, "--namespace", coding_release)
    with coding_cluster.api_client() as api:
        assert _missing_objects(api, manifest, coding_release) == []
    status = json.loads(_helm(coding_cluster, "status", RELEASE, "--namespace", coding_release, "-o", "json"))
    assert status["info"]["status"] == "deployed"


def test_hub_pod_is_scheduled_onto_a_coding_node_and_runs(coding_cluster: ControlPlane, coding_release: str):
    with coding_cluster.api_client() as api:
        pod = _wait("the hub pod to run", lambda: _hub_pod(k8s.CoreV1Api(api), coding_release))
    assert pod.spec.node_name.startswith("coding-gpu-")
    assert pod.spec.service_account_name == HUB
    claim = next(v.persistent_volume_claim.claim_name for v in pod.spec.volumes if v.persistent_volume_claim)
    assert claim == f"{RELEASE}-arenahub-coding-hub-db"


def _chartconfig() -> Any:
    """The chart's hub config reader (files/hub/chartconfig.py), as the hub pod loads it."""
    path = CODING_CHART / "files" / "hub" / "chartconfig.py"
    spec = importlib.util.spec_from_file_location("arenahub_chartconfig_k8s", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_installed_culler_asks_servers_for_kernels_through_the_installed_proxy_service(
        coding_cluster: ControlPlane, coding_release: str):
    with coding_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        mounted = yaml.safe_load(core.read_namespaced_config_map(HUB, coding_release).data["values.yaml"])
        env = {"ARENAHUB_GATEWAY_API_TOKEN": "a" * 64}
        config = _chartconfig().build_hub_config(mounted["chart"], mounted["values"], env, Path("/culler_config.py"))
        culler = next(s for s in config["JupyterHub"]["services"] if s["name"] == "idle-culler")
        timeouts = json.loads(culler["environment"]["ARENAHUB_CULL_TIMEOUTS"])
        role = next(r for r in config["JupyterHub"]["load_roles"] if r["name"] == "idle-culler")
        assert timeouts["unattended"] == {"gpu-quarter": 300, "gpu-half": 600}
        assert "access:servers" in role["scopes"]
        # the culler's proxy URL is a Service of the release that sends port 80 to the proxy's http port
        host, port = timeouts["proxy_url"].removeprefix("http://").split(":")
        service = core.read_namespaced_service(host, coding_release)
        assert [(p.port, p.target_port) for p in service.spec.ports] == [(int(port), "http")]
        proxy = k8s.AppsV1Api(api).read_namespaced_deployment(f"{RELEASE}-arenahub-coding-proxy", coding_release)
        assert service.spec.selector.items() <= proxy.spec.template.metadata.labels.items()
        ports = {p.name: p.container_port for p in proxy.spec.template.spec.containers[0].ports}
        # and the hub pod, where the culler runs, may reach that port
        policy = k8s.NetworkingV1Api(api).read_namespaced_network_policy(HUB, coding_release)
        to_proxy = [r for r in policy.spec.egress if any(
            (t.pod_selector and (t.pod_selector.match_labels or {}).get("app.kubernetes.io/component") == "proxy")
            for t in (r.to or []))]
        assert ports["http"] in [p.port for r in to_proxy for p in r.ports]


def test_installed_gateway_pod_mounts_the_extra_datasets_volume(coding_cluster: ControlPlane, coding_release: str):
    with coding_cluster.api_client() as api:
        pods = _wait("the gateway pod", lambda: k8s.CoreV1Api(api).list_namespaced_pod(
            coding_release, label_selector="app.kubernetes.io/component=gateway").items)
    spec = pods[0].spec
    assert "datasets" in [v.name for v in spec.volumes]
    mount = next(m for m in spec.containers[0].volume_mounts if m.name == "datasets")
    assert (mount.mount_path, mount.read_only) == ("/srv/datasets", True)


# (after the tests above: it changes the profile list)
def test_upgrade_with_a_new_profile_list_restarts_the_hub_with_it(coding_cluster: ControlPlane, coding_release: str):
    with coding_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        before = _wait("the hub pod to run", lambda: _hub_pod(core, coding_release))
        profiles = profiles_for("hami")[:2] + [
            {"slug": "gpu-whole", "display_name": "1 GPU", "gpu_fraction": 1, "mem_gib": 32, "cpu": 4}]
        _helm(coding_cluster, "upgrade", RELEASE, str(CODING_CHART), "--namespace", coding_release,
              "--wait", "--timeout", "120s",
              values={**CODING_VALUES, "singleuser": {"profileList": profiles}})
        configmap = core.read_namespaced_config_map(HUB, coding_release)
        slugs = [p["slug"] for p in yaml.safe_load(configmap.data["values.yaml"])["values"]["singleuser"]["profileList"]]
        assert slugs == ["cpu", "gpu-quarter", "gpu-whole"]
        after = _wait("a new hub pod to run",
                      lambda: (p := _hub_pod(core, coding_release)) and p.metadata.uid != before.metadata.uid and p)
        assert after.spec.node_name.startswith("coding-gpu-")
        assert after.metadata.annotations["checksum/config"] != before.metadata.annotations["checksum/config"]
    history = json.loads(_helm(coding_cluster, "history", RELEASE, "--namespace", coding_release, "-o", "json"))
    assert [h["status"] for h in history] == ["superseded", "deployed"]


def test_install_with_bad_values_is_refused_by_the_schema_and_creates_nothing(coding_cluster: ControlPlane):
    with coding_cluster.namespace("badvalues") as namespace:
        with pytest.raises(HelmFailed) as refused:
            _helm(coding_cluster, "install", RELEASE, str(CODING_CHART), "--namespace", namespace,
                  values={"gpuSharing": {"backend": "vgpu"}, "cull": {"timeout": -5}})
        message = str(refused.value)
        assert "at '/gpuSharing/backend': value must be one of 'hami'" in message
        assert "at '/cull/timeout': minimum" in message
        assert _helm(coding_cluster, "list", "--namespace", namespace, "-q").strip() == ""
        with coding_cluster.api_client() as api:
            assert k8s.AppsV1Api(api).list_namespaced_deployment(namespace).items == []


# -- training cluster ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def training_release(training_cluster: ControlPlane) -> Iterator[tuple[str, str]]:
    """The training chart with two competitions and Kueue, installed; yields (namespace, prefix).

    The dataset is bound to a pre-made volume by name (volumeName), as an operator does with NFS.
    """
    prefix = f"t{secrets.token_hex(2)}-"
    volume = _persistent_volume(f"{prefix}faces-datasets", "1Gi", f"{prefix}faces", "arenahub-datasets",
                                access_modes=("ReadWriteMany",))
    values = {"namespacePrefix": prefix, "keepNamespacesOnUninstall": False, "kueue": {"enabled": True},
              "competitions": [{"name": "faces", "gpus": 2, "maxJobs": 5,
                                "datasetVolume": {"size": "1Gi", "volumeName": volume["metadata"]["name"]}},
                               {"name": "cars", "gpus": 1}]}
    with training_cluster.api_client() as api:
        ensure_kueue_crds(api)
        k8s.CoreV1Api(api).create_persistent_volume(body=volume)
        try:
            with training_cluster.namespace("arenahub-system") as namespace:
                _helm(training_cluster, "install", RELEASE, str(TRAINING_CHART), "--namespace", namespace,
                      "--wait", "--timeout", "120s", values=values)
                try:
                    yield namespace, prefix
                finally:
                    _helm(training_cluster, "uninstall", RELEASE, "--namespace", namespace)
        finally:
            k8s.CoreV1Api(api).delete_persistent_volume(volume["metadata"]["name"])


def test_training_chart_installs_with_every_object_accepted(training_cluster: ControlPlane, training_release):
    namespace, prefix = training_release
    manifest = _helm(training_cluster, "get", "manifest", RELEASE, "--namespace", namespace)
    with training_cluster.api_client() as api:
        assert _missing_objects(api, manifest, namespace) == []
        core = k8s.CoreV1Api(api)
        labels = core.read_namespace(f"{prefix}faces").metadata.labels
        assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
        quota = core.read_namespaced_resource_quota("gpus", f"{prefix}faces")
        assert quota.spec.hard["requests.nvidia.com/gpu"] == "2"
        queue = k8s.CustomObjectsApi(api).get_namespaced_custom_object(
            "kueue.x-k8s.io", "v1beta1", f"{prefix}cars", "localqueues", "arenahub")
        assert queue["spec"]["clusterQueue"] == f"{prefix}cars"


def _executor_kubeconfig(cluster: ControlPlane, namespace: str) -> Path:
    """A kubeconfig that presents the executor ServiceAccount's token from the chart's token Secret."""
    with cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        secret = _wait("the token controller to fill the executor's token Secret",
                       lambda: (s := core.read_namespaced_secret("arenahub-executor-token", namespace)).data
                       and "token" in s.data and s)
    token = base64.b64decode(secret.data["token"]).decode()
    return cluster.token_kubeconfig(token, f"executor-{namespace}")


def _executor_client(cluster: ControlPlane, namespace: str) -> k8s.ApiClient:
    """An ApiClient that presents the executor ServiceAccount's token from the chart's token Secret."""
    return k8s_config.new_client_from_config(config_file=str(_executor_kubeconfig(cluster, namespace)))


def _restricted_job(name: str, gpus: int) -> dict[str, Any]:
    """A Job as the executor builds them: non-root, no capabilities, RuntimeDefault seccomp, requests set."""
    return {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"backoffLimit": 0, "template": {"spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "run", "image": "ghcr.io/arenahub/job-runner:0.1.0", "command": ["python3", "main.py"],
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "1", "memory": "1Gi", "nvidia.com/gpu": str(gpus)},
                              "limits": {"memory": "1Gi", "nvidia.com/gpu": str(gpus)}},
            }],
        }}},
    }


def test_executor_token_may_run_a_job_in_a_competition_namespace(training_cluster: ControlPlane, training_release):
    namespace, prefix = training_release
    with _executor_client(training_cluster, namespace) as api:
        batch = k8s.BatchV1Api(api)
        batch.create_namespaced_job(f"{prefix}faces", _restricted_job("run-1", gpus=1))
        pods = _wait("the job's pod", lambda: k8s.CoreV1Api(api).list_namespaced_pod(
            f"{prefix}faces", label_selector="job-name=run-1").items)
        assert pods[0].spec.containers[0].resources.requests["nvidia.com/gpu"] == "1"
        batch.delete_namespaced_job("run-1", f"{prefix}faces", propagation_policy="Background")


def test_executor_token_may_start_the_job_the_gateway_builds_and_its_pod_is_admitted(
    training_cluster: ControlPlane, training_release, tmp_path: Path
):
    """The Kubernetes executor's own manifests (kubejobs) under the chart's RBAC, Pod Security and quota."""
    from arenahub.gateway.executors.base import Mount, RunLimits, RunSpec
    from arenahub.gateway.executors.kubecode import build_code_configmaps, index_archive
    from arenahub.gateway.executors.kubejobs import KubeJobSettings, build_job, build_labels, job_name

    namespace, prefix = training_release
    settings = KubeJobSettings(image="ghcr.io/arenahub/job-runner:0.1.0", namespace_prefix=prefix)
    spec = RunSpec(job_id=f"j{secrets.token_hex(4)}", user="alice", code_dir=tmp_path, argv=["python3", "main.py"],
                   mounts=[Mount(Path(settings.datasets_root) / "train", "/data/train")], gpus=[0],
                   limits=RunLimits(wall_s=600, mem_bytes=4 << 30, cpu_s=2400, max_procs=512, disk_bytes=2 << 30),
                   env={"ARENAHUB_COMPETITION": "faces"})
    run_ns, name = f"{prefix}faces", job_name(spec.job_id)
    with _executor_client(training_cluster, namespace) as api:
        archive = b"\x1f\x8b" + b"0" * 64
        for configmap in build_code_configmaps(name, run_ns, archive, build_labels(spec)):
            k8s.CoreV1Api(api).create_namespaced_config_map(run_ns, configmap)
        k8s.BatchV1Api(api).create_namespaced_job(
            run_ns, build_job(spec, settings, name=name, namespace=run_ns, code=index_archive(archive)))
        pod = _wait("the run's pod to be scheduled", lambda: [
            p for p in k8s.CoreV1Api(api).list_namespaced_pod(run_ns, label_selector=f"job-name={name}").items
            if p.spec.node_name])[0]
    assert pod.spec.node_name.startswith("training-gpu-")
    assert pod.spec.volumes[-1].persistent_volume_claim.claim_name == "arenahub-datasets"


async def test_with_only_the_charts_rbac_a_restarted_executor_finds_its_jobs_in_the_competition_namespaces(
    training_cluster: ControlPlane, training_release, tmp_path: Path
):
    """find_runs lists per competition namespace: no cluster-wide rights (listJobsClusterWide off)."""
    from arenahub.gateway.executors.base import RunLimits, RunSpec
    from arenahub.gateway.executors.kubejobs import KubeJobSettings
    from arenahub.gateway.executors.kubernetes import KubernetesExecutor

    namespace, prefix = training_release
    with _executor_client(training_cluster, namespace) as api:
        with pytest.raises(k8s.ApiException) as refused:  # what find_runs used to need
            k8s.BatchV1Api(api).list_job_for_all_namespaces()
    assert refused.value.status == 403
    kubeconfig = _executor_kubeconfig(training_cluster, namespace)
    settings = KubeJobSettings(image="ghcr.io/arenahub/job-runner:0.1.0", namespace_prefix=prefix,
                               default_competition="faces")
    (tmp_path / "main.py").write_text("print('hi')\n")
    spec = RunSpec(job_id=f"j{secrets.token_hex(4)}", user="alice", code_dir=tmp_path, argv=["python3", "main.py"],
                   mounts=[], gpus=[0],
                   limits=RunLimits(wall_s=600, mem_bytes=4 << 30, cpu_s=2400, max_procs=512, disk_bytes=2 << 30),
                   env={"ARENAHUB_COMPETITION": "cars"})
    first = KubernetesExecutor(settings, kubeconfig=kubeconfig, ensure_namespaces=False)
    try:
        handle = await first.start(spec)
    finally:
        await first.aclose()
    second = KubernetesExecutor(settings, kubeconfig=kubeconfig, ensure_namespaces=False)
    try:
        found = await second.find_runs(["cars"])
        await second.cancel(handle)
        with pytest.raises(PermissionError, match=f"namespace {prefix}elsewhere"):
            await second.find_runs(["elsewhere"])  # no competition of the chart: said clearly
    finally:
        await second.aclose()
    assert [h.run_dir for h in found if h.job_id == spec.job_id] == [handle.run_dir]
    assert handle.run_dir.startswith(f"kube:{prefix}cars/")


@pytest.mark.parametrize("action", [
    "read_secrets_in_a_competition_namespace",
    "list_configmaps_in_a_competition_namespace",
    "create_a_job_in_the_release_namespace",
    "create_a_job_in_the_default_namespace",
    "list_namespaces",
    "delete_a_competition_namespace",
])
def test_executor_token_is_forbidden_everything_else(training_cluster: ControlPlane, training_release, action):
    namespace, prefix = training_release
    with _executor_client(training_cluster, namespace) as api:
        core, batch = k8s.CoreV1Api(api), k8s.BatchV1Api(api)
        attempts = {
            "read_secrets_in_a_competition_namespace": lambda: core.list_namespaced_secret(f"{prefix}faces"),
            "list_configmaps_in_a_competition_namespace": lambda: core.list_namespaced_config_map(f"{prefix}faces"),
            "create_a_job_in_the_release_namespace": lambda: batch.create_namespaced_job(namespace, _restricted_job("x", 1)),
            "create_a_job_in_the_default_namespace": lambda: batch.create_namespaced_job("default", _restricted_job("x", 1)),
            "list_namespaces": core.list_namespace,
            "delete_a_competition_namespace": lambda: core.delete_namespace(f"{prefix}cars"),
        }
        with pytest.raises(k8s.ApiException) as refused:
            attempts[action]()
    assert refused.value.status == 403


def test_a_job_over_the_competition_gpu_quota_gets_no_pod(training_cluster: ControlPlane, training_release):
    namespace, prefix = training_release
    with _executor_client(training_cluster, namespace) as api:
        k8s.BatchV1Api(api).create_namespaced_job(f"{prefix}cars", _restricted_job("too-big", gpus=2))
    with training_cluster.api_client() as admin:
        core = k8s.CoreV1Api(admin)
        event = _wait("the quota to refuse the job's pod", lambda: [
            e for e in core.list_namespaced_event(f"{prefix}cars").items
            if e.involved_object.name == "too-big" and "exceeded quota" in (e.message or "")])
        assert "requests.nvidia.com/gpu=2" in event[0].message
        assert core.list_namespaced_pod(f"{prefix}cars", label_selector="job-name=too-big").items == []
