"""The Kubernetes executor against the real training control plane: restricted Jobs, kwok-run pods."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from arenahub.gateway.datasets import dataset_mounts
from arenahub.gateway.executors.base import Mount, RunLimits, RunSpec
from arenahub.gateway.executors.kubejobs import COMPETITION_ENV, KubeJobSettings
from arenahub.gateway.executors.kubernetes import KubernetesExecutor, parse_handle
from tests.k8s.harness import ControlPlane, build_pod_lifecycle_annotations, build_training_nodes
from tests.k8s.podservers import wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text("print('epoch 1 loss=0.5')\n")
    return folder


def make_spec(code_dir: Path, competition: str, *, wall_s: int = 60, gpus: int = 1,
              mounts: list[Mount] | None = None, job_id: str | None = None) -> RunSpec:
    return RunSpec(
        job_id=job_id or f"j{secrets.token_hex(4)}", user="alice", code_dir=code_dir,
        argv=["python3", "train.py"], mounts=mounts or [], gpus=list(range(gpus)),
        limits=RunLimits(wall_s=wall_s, mem_bytes=8 << 30, cpu_s=4 * wall_s, max_procs=512, disk_bytes=10 << 30),
        env={COMPETITION_ENV: competition, "ARENAHUB_JOB_KIND": "train"},
    )


def make_executor(cluster: ControlPlane, *, pool: str = "training", kueue_queue: str = "", **lifecycle: Any) -> KubernetesExecutor:
    settings = KubeJobSettings(
        image="registry.invalid/arenahub/job:test", pool_selector={"arenahub.io/pool": pool},
        kueue_queue=kueue_queue, datasets_root="/srv/datasets",
        pod_annotations=build_pod_lifecycle_annotations(**lifecycle) if lifecycle else {},
    )
    return KubernetesExecutor(settings, kubeconfig=cluster.kubeconfig, poll_interval_s=0.2, cancel_wait_s=30)


async def settle(executor: KubernetesExecutor, handle, timeout_s: float = 60):
    async def ended():
        while (result := await executor.result(handle)) is None:
            await asyncio.sleep(0.2)
        return result
    return await asyncio.wait_for(ended(), timeout_s)


def job_of(cluster: ControlPlane, handle) -> tuple[Any, list[Any]]:
    namespace, name = parse_handle(handle)
    with cluster.api_client() as api:
        job = k8s.BatchV1Api(api).read_namespaced_job(name, namespace)
        pods = k8s.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
    return job, pods


def add_dataset_claim(cluster: ControlPlane, namespace: str) -> None:
    """The datasets PVC the Job mounts, bound to a PV (the harness has no provisioner)."""
    cluster.ensure_namespace(namespace, RESTRICTED)
    with cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        pv = f"datasets-{namespace}"
        core.create_persistent_volume({
            "metadata": {"name": pv},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadOnlyMany"], "storageClassName": "",
                     "hostPath": {"path": "/srv/datasets"}, "persistentVolumeReclaimPolicy": "Retain",
                     "claimRef": {"namespace": namespace, "name": "arenahub-datasets"}}})
        core.create_namespaced_persistent_volume_claim(namespace, {
            "metadata": {"name": "arenahub-datasets"},
            "spec": {"accessModes": ["ReadOnlyMany"], "storageClassName": "", "volumeName": pv,
                     "resources": {"requests": {"storage": "1Gi"}}}})
        wait_for("the datasets claim to be bound", lambda: core.read_namespaced_persistent_volume_claim(
            "arenahub-datasets", namespace).status.phase == "Bound")


async def test_a_run_becomes_a_restricted_job_that_kwok_runs_to_completion_with_its_logs(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    namespace = f"arenahub-runs-{competition}"
    add_dataset_claim(training_cluster, namespace)
    training_cluster.serve_pod_logs(namespace, ["epoch 1 loss=0.5", "epoch 2 loss=0.25"])
    executor = make_executor(training_cluster, run_s=1)
    # the mounts the gateway itself gives train and test runs (arenahub.gateway.datasets), so the
    # "no annotations" check below fails if the gateway ever mounted them
    mounts = [Mount(host, target) for kind in ("train", "test")
              for host, target in dataset_mounts(kind, Path("/srv/datasets/faces"))]
    try:
        handle = await executor.start(make_spec(code_dir, competition, mounts=mounts))
        result = await settle(executor, handle)
        lines = [r.text async for r in executor.read_logs(handle)]
    finally:
        await executor.aclose()
    assert (result.status, result.exit_code) == ("succeeded", 0)
    assert lines == ["epoch 1 loss=0.5", "epoch 2 loss=0.25"]
    job, pods = job_of(training_cluster, handle)
    assert (job.spec.backoff_limit, job.spec.active_deadline_seconds) == (0, 60)
    assert not job.metadata.annotations
    pod = pods[0].spec
    assert pod.automount_service_account_token is False
    assert pod.security_context.run_as_non_root and pod.security_context.seccomp_profile.type == "RuntimeDefault"
    main = pod.containers[0]
    assert main.resources.limits["nvidia.com/gpu"] == "1"
    assert main.security_context.read_only_root_filesystem and main.security_context.capabilities.drop == ["ALL"]
    data = {m.mount_path: m for m in main.volume_mounts}
    assert data["/data/train"].read_only and data["/data/train"].sub_path == "faces/train"
    assert not any("annotations" in m.mount_path or "annotations" in (m.sub_path or "") for m in main.volume_mounts)
    claim = next(v for v in pod.volumes if v.persistent_volume_claim)
    assert claim.persistent_volume_claim.read_only
    assert [c.name for c in pod.init_containers] == ["unpack-code"]
    assert pods[0].spec.node_name.startswith("training-gpu-")


async def test_the_run_namespace_enforces_restricted_and_a_deny_all_policy_selects_job_pods(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    executor = make_executor(training_cluster, run_s=60)
    try:
        handle = await executor.start(make_spec(code_dir, competition))
        namespace, _ = parse_handle(handle)
        wait_for("the job's pod", lambda: job_of(training_cluster, handle)[1])
        _, pods = job_of(training_cluster, handle)
        with training_cluster.api_client() as api:
            ns = k8s.CoreV1Api(api).read_namespace(namespace)
            policies = k8s.NetworkingV1Api(api).list_namespaced_network_policy(namespace).items
            # the same namespace refuses a pod that breaks the restricted standard
            with pytest.raises(k8s.ApiException) as refused:
                k8s.CoreV1Api(api).create_namespaced_pod(namespace, {
                    "metadata": {"name": "rooty"},
                    "spec": {"containers": [{"name": "c", "image": "x", "securityContext": {"privileged": True}}]}})
        await executor.cancel(handle)
    finally:
        await executor.aclose()
    assert ns.metadata.labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert refused.value.status == 403
    [policy] = policies
    selector = policy.spec.pod_selector.match_labels
    assert selector.items() <= pods[0].metadata.labels.items()
    assert sorted(policy.spec.policy_types) == ["Egress", "Ingress"]
    assert not policy.spec.ingress and not policy.spec.egress


async def test_a_job_whose_program_exits_nonzero_fails_with_that_exit_code(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    executor = make_executor(training_cluster, run_s=0.5, exit_code=3)
    try:
        result = await settle(executor, await executor.start(make_spec(code_dir, competition)))
    finally:
        await executor.aclose()
    assert (result.status, result.exit_code) == ("failed", 3)
    assert "exit code 3" in result.reason


async def test_a_job_past_its_deadline_ends_as_timeout(training_cluster: ControlPlane, competition: str, code_dir: Path):
    executor = make_executor(training_cluster, run_s=600)
    try:
        result = await settle(executor, await executor.start(make_spec(code_dir, competition, wall_s=2)))
    finally:
        await executor.aclose()
    assert result.status == "timeout"
    assert "time limit of 2 s" in result.reason


async def test_cancel_deletes_the_job_and_its_pod_in_the_foreground(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    executor = make_executor(training_cluster, run_s=600)
    try:
        handle = await executor.start(make_spec(code_dir, competition))
        wait_for("the job's pod to run", lambda: any(
            p.status.phase == "Running" for p in job_of(training_cluster, handle)[1]))
        await executor.cancel(handle)
        result = await executor.result(handle)
    finally:
        await executor.aclose()
    namespace, name = parse_handle(handle)
    with training_cluster.api_client() as api:
        pods = k8s.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
        with pytest.raises(k8s.ApiException) as gone:
            k8s.BatchV1Api(api).read_namespaced_job(name, namespace)
    assert result.status == "cancelled"
    assert gone.value.status == 404 and pods == []


async def test_a_restarted_gateway_finds_its_running_jobs_by_label_and_follows_them(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    training_cluster.serve_pod_logs(f"arenahub-runs-{competition}", ["step 1", "step 2"])
    first = make_executor(training_cluster, run_s=3)
    try:
        handle = await first.start(make_spec(code_dir, competition))
    finally:
        await first.aclose()  # the gateway dies; the Job runs on
    second = make_executor(training_cluster)
    try:
        found = [h for h in await second.find_runs([competition]) if h.job_id == handle.job_id]
        result = await settle(second, found[0])
        lines = [r.text async for r in second.read_logs(found[0])]
    finally:
        await second.aclose()
    assert found[0].run_dir == handle.run_dir
    assert result.status == "succeeded"
    assert lines == ["step 1", "step 2"]


async def test_nine_one_gpu_jobs_fill_three_nodes_of_three_gpus_and_a_tenth_waits(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    pool = f"fill-{secrets.token_hex(3)}"
    nodes = training_cluster.create_nodes(build_training_nodes(3, 3, name_prefix=pool, pool=pool))
    executor = make_executor(training_cluster, pool=pool, run_s=600)
    try:
        handles = [await executor.start(make_spec(code_dir, competition)) for _ in range(10)]
        namespace, _ = parse_handle(handles[0])

        def placement() -> tuple[list[str], list[str]] | None:
            with training_cluster.api_client() as api:
                pods = k8s.CoreV1Api(api).list_namespaced_pod(namespace).items
            running = sorted(p.spec.node_name for p in pods if p.status.phase == "Running")
            waiting = [p.metadata.name for p in pods if p.status.phase == "Pending" and any(
                c.type == "PodScheduled" and c.reason == "Unschedulable" for c in p.status.conditions or [])]
            return (running, waiting) if len(running) == 9 and len(waiting) == 1 else None

        running, waiting = wait_for("9 running pods and 1 unschedulable", placement, timeout_s=90)
        tenth_result = [await executor.result(h) for h in handles]
    finally:
        for handle in handles:
            await executor.cancel(handle)
        await executor.aclose()
        with training_cluster.api_client() as api:
            for node in nodes:
                k8s.CoreV1Api(api).delete_node(node)
    assert running == sorted([f"{pool}-{i}" for i in range(3)] * 3)
    assert tenth_result == [None] * 10  # all ten are still running or queued


async def test_with_kueue_a_job_is_created_suspended_with_its_queue_label(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    executor = make_executor(training_cluster, kueue_queue="gpu-queue")
    try:
        handle = await executor.start(make_spec(code_dir, competition))
        await asyncio.sleep(1)
        job, pods = job_of(training_cluster, handle)
        result = await executor.result(handle)
    finally:
        await executor.aclose()
    assert job.spec.suspend is True
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    assert pods == [] and result is None


def test_a_notebook_service_account_has_no_rights_on_the_training_cluster(
    coding_cluster: ControlPlane, training_cluster: ControlPlane
):
    with coding_cluster.namespace("notebooks") as ns, coding_cluster.api_client() as api:
        token = k8s.CoreV1Api(api).create_namespaced_service_account_token(
            "default", ns, {"spec": {"expirationSeconds": 600}}).status.token
    kubeconfig = training_cluster.token_kubeconfig(token, "notebook-default")
    with k8s_config.new_client_from_config(config_file=str(kubeconfig)) as api:
        with pytest.raises(k8s.ApiException) as refused:
            k8s.BatchV1Api(api).list_job_for_all_namespaces()
    assert refused.value.status == 401
    assert coding_cluster.ca_file.read_bytes() != training_cluster.ca_file.read_bytes()
