"""The Kubernetes harness itself: real API servers, a real scheduler, kwok-run pods and Jobs, two separate clusters."""

from __future__ import annotations

import ipaddress
from datetime import datetime, timezone
from typing import Any, Callable

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from tests.k8s.harness import ControlPlane, build_pod_lifecycle_annotations, find_binaries
from tests.k8s.harness.kwok import format_cri_log
from tests.k8s.harness.nodes import POOL_LABEL, GpuNodeShape, gpu_resources
from tests.k8s.harness.processes import wait_until

pytestmark = pytest.mark.k8s


# -- helpers ---------------------------------------------------------------------------------


def _wait(what: str, probe: Callable[[], bool], timeout_s: float = 60) -> None:
    wait_until(what, probe, timeout_s=timeout_s, interval_s=0.2)


def _pod(name: str, limits: dict[str, str], annotations: dict[str, str] | None = None,
         node_pool: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "main", "image": "registry.invalid/arenahub/job:test",
                        "resources": {"limits": limits}}],
    }
    if node_pool:
        spec["nodeSelector"] = {POOL_LABEL: node_pool}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations or {}}, "spec": spec}


def _job(name: str, annotations: dict[str, str]) -> dict[str, Any]:
    template = _pod("ignored", {"nvidia.com/gpu": "1"}, annotations)
    del template["metadata"]["name"]
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0, "template": {"metadata": template["metadata"], "spec": template["spec"]}}}


def _job_condition(batch: k8s.BatchV1Api, namespace: str, name: str) -> str | None:
    job = batch.read_namespaced_job(name, namespace)
    for condition in job.status.conditions or []:
        if condition.type in ("Complete", "Failed") and condition.status == "True":
            return condition.type
    return None


# -- pure pieces (no cluster needed) ---------------------------------------------------------


def test_lifecycle_annotations_spell_delays_as_go_durations_and_the_exit_code_as_text():
    assert build_pod_lifecycle_annotations(pending_s=0.5, run_s=30, exit_code=3) == {
        "pod-ready.stage.kwok.x-k8s.io/delay": "500ms",
        "pod-complete.stage.kwok.x-k8s.io/delay": "30000ms",
        "pod-complete.stage.kwok.x-k8s.io/exit-code": "3",
    }
    with pytest.raises(ValueError, match="0..255"):
        build_pod_lifecycle_annotations(exit_code=300)


def test_cri_log_lines_carry_increasing_timestamps_and_the_stream():
    text = format_cri_log(["a", "b c"], datetime(2026, 11, 23, 12, 0, 0, 999999, tzinfo=timezone.utc))
    assert text.splitlines() == [
        "2026-11-23T12:00:00.999999000Z stdout F a",
        "2026-11-23T12:00:01.000000000Z stdout F b c",
    ]
    with pytest.raises(ValueError, match="newline"):
        format_cri_log(["two\nlines"], datetime.now(timezone.utc))


@pytest.mark.parametrize("backend, resources", [
    ("hami", {"nvidia.com/gpu": "20", "nvidia.com/gpumem": "163840", "nvidia.com/gpucores": "200"}),
    ("gpumanager", {"tencent.com/vcuda-core": "200", "tencent.com/vcuda-memory": "640"}),
    ("nvidia-timeslicing", {"nvidia.com/gpu.shared": "8"}),
    ("mig", {"nvidia.com/mig-1g.10gb": "14"}),
    ("whole", {"nvidia.com/gpu": "2"}),
])
def test_each_sharing_backend_advertises_its_own_resource_names(backend, resources):
    assert gpu_resources(backend, GpuNodeShape(gpus=2)) == resources


def test_an_unknown_backend_is_refused_with_the_valid_choices():
    with pytest.raises(ValueError, match="Available: hami, gpumanager"):
        gpu_resources("vgpu-magic", GpuNodeShape())


# -- one control plane ------------------------------------------------------------------------


def test_api_server_answers_with_the_built_kubernetes_version(training_cluster: ControlPlane):
    with training_cluster.api_client() as api:
        version = k8s.VersionApi(api).get_code()
    assert version.git_version == find_binaries().versions["K8S_VERSION"]
    assert training_cluster.server.startswith("https://127.0.0.1:")


def test_fake_nodes_are_ready_and_advertise_their_gpus(coding_cluster: ControlPlane, training_cluster: ControlPlane):
    with training_cluster.api_client() as api:
        nodes = k8s.CoreV1Api(api).list_node(label_selector=f"{POOL_LABEL}=training").items
    assert sorted(n.metadata.name for n in nodes) == ["training-gpu-0", "training-gpu-1", "training-gpu-2"]
    for node in nodes:
        assert node.status.allocatable["nvidia.com/gpu"] == "3"
        assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
        assert [a.address for a in node.status.addresses if a.type == "InternalIP"] == ["127.0.0.1"]
    with coding_cluster.api_client() as api:
        coding = k8s.CoreV1Api(api).list_node(label_selector=f"{POOL_LABEL}=coding").items
    assert len(coding) == 2
    for resource in ("nvidia.com/gpumem", "nvidia.com/gpucores", "nvidia.com/gpu", "nvidia.com/gpu.shared",
                     "tencent.com/vcuda-core", "tencent.com/vcuda-memory", "nvidia.com/mig-1g.10gb"):
        assert resource in coding[0].status.allocatable


def test_a_one_gpu_pod_is_scheduled_onto_a_kwok_node_and_runs_with_a_loopback_ip(training_cluster: ControlPlane):
    with training_cluster.namespace("sched") as ns, training_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_pod(ns, _pod("one-gpu", {"nvidia.com/gpu": "1"}, node_pool="training"))
        _wait("pod one-gpu Running", lambda: core.read_namespaced_pod("one-gpu", ns).status.phase == "Running")
        pod = core.read_namespaced_pod("one-gpu", ns)
        events = core.list_namespaced_event(ns, field_selector="involvedObject.name=one-gpu").items
    assert pod.spec.node_name.startswith("training-gpu-")
    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network("127.21.0.0/16")
    assert pod.status.host_ip == "127.0.0.1"
    assert any(e.reason == "Scheduled" for e in events), [e.reason for e in events]


def test_a_slice_pod_fits_on_a_coding_node(coding_cluster: ControlPlane):
    slice_limits = {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "8192", "nvidia.com/gpucores": "25"}
    with coding_cluster.namespace("slice") as ns, coding_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_pod(ns, _pod("quarter", slice_limits, node_pool="coding"))
        _wait("pod quarter Running", lambda: core.read_namespaced_pod("quarter", ns).status.phase == "Running")
        pod = core.read_namespaced_pod("quarter", ns)
    assert pod.spec.node_name.startswith("coding-gpu-")
    assert ipaddress.ip_address(pod.status.pod_ip) in ipaddress.ip_network("127.20.0.0/16")


def test_a_pod_asking_for_more_gpus_than_any_node_has_stays_pending_as_unschedulable(training_cluster: ControlPlane):
    with training_cluster.namespace("toobig") as ns, training_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_pod(ns, _pod("four-gpus", {"nvidia.com/gpu": "4"}))

        def failed_scheduling() -> bool:
            events = core.list_namespaced_event(ns, field_selector="involvedObject.name=four-gpus").items
            return any(e.reason == "FailedScheduling" for e in events)

        _wait("a FailedScheduling event", failed_scheduling)
        pod = core.read_namespaced_pod("four-gpus", ns)
        events = core.list_namespaced_event(ns, field_selector="involvedObject.name=four-gpus").items
    assert pod.status.phase == "Pending" and not pod.spec.node_name
    scheduled = {c.type: c for c in pod.status.conditions}["PodScheduled"]
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    assert any("Insufficient nvidia.com/gpu" in (e.message or "") for e in events)


def test_a_job_runs_to_completion(training_cluster: ControlPlane):
    with training_cluster.namespace("jobok") as ns, training_cluster.api_client() as api:
        batch = k8s.BatchV1Api(api)
        batch.create_namespaced_job(ns, _job("train", build_pod_lifecycle_annotations(run_s=0.5)))
        _wait("job train to finish", lambda: _job_condition(batch, ns, "train") is not None)
        job = batch.read_namespaced_job("train", ns)
    assert _job_condition(batch, ns, "train") == "Complete"
    assert job.status.succeeded == 1


def test_a_job_whose_pod_exits_nonzero_fails_with_that_exit_code(training_cluster: ControlPlane):
    with training_cluster.namespace("jobfail") as ns, training_cluster.api_client() as api:
        batch, core = k8s.BatchV1Api(api), k8s.CoreV1Api(api)
        batch.create_namespaced_job(ns, _job("crash", build_pod_lifecycle_annotations(run_s=0.5, exit_code=3)))
        _wait("job crash to finish", lambda: _job_condition(batch, ns, "crash") is not None)
        assert _job_condition(batch, ns, "crash") == "Failed"
        pods = core.list_namespaced_pod(ns, label_selector="job-name=crash").items
    assert [p.status.phase for p in pods] == ["Failed"]
    assert pods[0].status.container_statuses[0].state.terminated.exit_code == 3


def test_pod_logs_are_served_from_a_file_through_the_api_server(training_cluster: ControlPlane):
    with training_cluster.namespace("logs") as ns, training_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_pod(ns, _pod("talker", {"nvidia.com/gpu": "1"}))
        training_cluster.serve_pod_logs(ns, ["epoch 1 loss=0.9", "epoch 2 loss=0.4"], pod_name="talker")
        _wait("pod talker Running", lambda: core.read_namespaced_pod("talker", ns).status.phase == "Running")
        text = ""

        def logs_arrived() -> bool:
            nonlocal text
            text = core.read_namespaced_pod_log("talker", ns)
            return bool(text)

        _wait("logs of talker", logs_arrived, timeout_s=20)
    assert text == "epoch 1 loss=0.9\nepoch 2 loss=0.4\n"


def test_every_pod_of_a_namespace_can_share_one_log_file(training_cluster: ControlPlane):
    with training_cluster.namespace("joblogs") as ns, training_cluster.api_client() as api:
        core, batch = k8s.CoreV1Api(api), k8s.BatchV1Api(api)
        training_cluster.serve_pod_logs(ns, ["step 1"])
        batch.create_namespaced_job(ns, _job("talk", build_pod_lifecycle_annotations(run_s=60)))

        def running_pod() -> str | None:
            pods = core.list_namespaced_pod(ns, label_selector="job-name=talk").items
            return next((p.metadata.name for p in pods if p.status.phase == "Running"), None)

        _wait("the Job's pod to run", lambda: running_pod() is not None)
        name = running_pod() or ""
        _wait("logs of the Job's pod", lambda: core.read_namespaced_pod_log(name, ns) == "step 1\n", timeout_s=20)


def test_a_restricted_namespace_refuses_a_privileged_pod(training_cluster: ControlPlane):
    labels = {"pod-security.kubernetes.io/enforce": "restricted"}
    with training_cluster.namespace("psa", labels) as ns, training_cluster.api_client() as api:
        pod = _pod("root", {"nvidia.com/gpu": "1"})
        pod["spec"]["containers"][0]["securityContext"] = {"privileged": True}
        with pytest.raises(k8s.ApiException) as refused:
            k8s.CoreV1Api(api).create_namespaced_pod(ns, pod)
    assert refused.value.status == 403
    assert "violates PodSecurity" in refused.value.body


def test_a_user_without_role_bindings_is_forbidden(training_cluster: ControlPlane):
    kubeconfig = training_cluster.issue_user_kubeconfig("nobody")
    with k8s_config.new_client_from_config(config_file=str(kubeconfig)) as api:
        with pytest.raises(k8s.ApiException) as refused:
            k8s.CoreV1Api(api).list_namespaced_pod("default")
    assert refused.value.status == 403


# -- two control planes -----------------------------------------------------------------------


def test_the_two_clusters_are_separate_api_servers_with_separate_objects(
    coding_cluster: ControlPlane, training_cluster: ControlPlane
):
    assert coding_cluster.server != training_cluster.server
    assert coding_cluster.kubeconfig != training_cluster.kubeconfig
    with coding_cluster.namespace("only-coding") as ns:
        with training_cluster.api_client() as api:
            with pytest.raises(k8s.ApiException) as missing:
                k8s.CoreV1Api(api).read_namespace(ns)
    assert missing.value.status == 404


def test_credentials_of_one_cluster_are_rejected_by_the_other(
    coding_cluster: ControlPlane, training_cluster: ControlPlane
):
    with coding_cluster.namespace("creds") as ns, coding_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        core.create_namespaced_service_account(ns, {"metadata": {"name": "notebook"}})
        token = core.create_namespaced_service_account_token(
            "notebook", ns, {"spec": {"expirationSeconds": 600}}).status.token
    # the token is valid where it was issued: authenticated, merely not authorised (403)
    with k8s_config.new_client_from_config(config_file=str(coding_cluster.token_kubeconfig(token, "nb"))) as api:
        with pytest.raises(k8s.ApiException) as at_home:
            k8s.CoreV1Api(api).list_namespaced_pod("default")
    assert at_home.value.status == 403
    # ... and unknown to the training cluster: not authenticated at all (401)
    with k8s_config.new_client_from_config(config_file=str(training_cluster.token_kubeconfig(token, "nb"))) as api:
        with pytest.raises(k8s.ApiException) as abroad:
            k8s.CoreV1Api(api).list_namespaced_pod("default")
    assert abroad.value.status == 401
    # the coding cluster's admin certificate, presented to the training API server
    config = k8s.Configuration()
    config.host = training_cluster.server
    config.ssl_ca_cert = str(training_cluster.ca_file)
    config.cert_file = str(coding_cluster.workdir / "pki" / "admin.crt")
    config.key_file = str(coding_cluster.workdir / "pki" / "admin.key")
    with k8s.ApiClient(config) as api:
        with pytest.raises(k8s.ApiException) as foreign_cert:
            k8s.CoreV1Api(api).list_namespaced_pod("default")
    assert foreign_cert.value.status == 401
