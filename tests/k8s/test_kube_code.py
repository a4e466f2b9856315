"""Code larger than one ConfigMap on the real training control plane: the parts the executor creates, owned by the Job and collected with it."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

import pytest
from kubernetes import client as k8s
from kubernetes_asyncio.client.rest import ApiException as AsyncApiException

from arenahub.gateway.executors.base import RunLimits, RunSpec
from arenahub.gateway.executors.kubecode import CONFIGMAP_LIMIT_BYTES
from arenahub.gateway.executors.kubejobs import COMPETITION_ENV, JOB_ID_LABEL, KubeJobSettings, dns_label, job_name
from arenahub.gateway.executors.kubernetes import KubernetesExecutor, pack_snapshot, parse_handle
from tests.k8s.harness import ControlPlane
from tests.k8s.podservers import wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

RESTRICTED = {"pod-security.kubernetes.io/enforce": "restricted"}


def code_folder(tmp_path: Path, weights_bytes: int) -> Path:
    """train.py plus incompressible weights: the packed snapshot is about ``weights_bytes``."""
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text("print('epoch 1 loss=0.5')\n")
    (folder / "weights.bin").write_bytes(os.urandom(weights_bytes))
    return folder


def make_spec(code_dir: Path, competition: str) -> RunSpec:
    return RunSpec(
        job_id=f"j{secrets.token_hex(4)}", user="alice", code_dir=code_dir, argv=["python3", "train.py"],
        mounts=[], gpus=[0],
        limits=RunLimits(wall_s=600, mem_bytes=8 << 30, cpu_s=2400, max_procs=512, disk_bytes=10 << 30),
        env={COMPETITION_ENV: competition, "ARENAHUB_JOB_KIND": "train"},
    )


def make_executor(cluster: ControlPlane, **settings) -> KubernetesExecutor:
    return KubernetesExecutor(
        KubeJobSettings(image="registry.invalid/arenahub/job:test", datasets_root="/srv/datasets",
                        pod_annotations={"arenahub.io/test": "code"}, **settings),
        kubeconfig=cluster.kubeconfig, poll_interval_s=0.2, cancel_wait_s=30)


def code_parts(cluster: ControlPlane, namespace: str, job_id: str) -> list[k8s.V1ConfigMap]:
    """The run's code ConfigMaps (by its job-id label), in part order."""
    with cluster.api_client() as api:
        items = k8s.CoreV1Api(api).list_namespaced_config_map(
            namespace, label_selector=f"{JOB_ID_LABEL}={dns_label(job_id)}").items
    return sorted(items, key=lambda c: int(c.metadata.labels["arenahub.io/code-part"]))


def read_job(cluster: ControlPlane, namespace: str, name: str) -> k8s.V1Job | None:
    with cluster.api_client() as api:
        try:
            return k8s.BatchV1Api(api).read_namespaced_job(name, namespace)
        except k8s.ApiException as e:
            if e.status == 404:
                return None
            raise


async def test_a_3_5_mb_snapshot_becomes_4_parts_owned_by_the_job_and_cancel_collects_them(
    training_cluster: ControlPlane, competition: str, tmp_path: Path
):
    code_dir = code_folder(tmp_path, 3_500_000)
    archive = pack_snapshot(code_dir)
    assert 3 * CONFIGMAP_LIMIT_BYTES < len(archive) <= 4 * CONFIGMAP_LIMIT_BYTES
    executor = make_executor(training_cluster)
    spec = make_spec(code_dir, competition)
    try:
        handle = await executor.start(spec)
        namespace, name = parse_handle(handle)
        job = read_job(training_cluster, namespace, name)
        parts = code_parts(training_cluster, namespace, spec.job_id)
        found = await executor.find_runs([competition])
        assert [h.job_id for h in found] == [spec.job_id]  # the parts' labels do not make them runs
        await executor.cancel(handle, "Cancelled by the test.")
    finally:
        await executor.aclose()
    assert [c.metadata.name for c in parts] == [f"{name}-code-{i}" for i in range(4)]
    for part in parts:
        (owner,) = part.metadata.owner_references
        assert (owner.kind, owner.name, owner.uid, owner.block_owner_deletion) == ("Job", name, job.metadata.uid, True)
        assert part.immutable is True
    joined = [base64.b64decode(p.binary_data["part"]) for p in parts]
    assert [len(p) for p in joined] == [CONFIGMAP_LIMIT_BYTES] * 3 + [len(archive) - 3 * CONFIGMAP_LIMIT_BYTES]
    pod = job.spec.template.spec
    index = {e.name: e.value for e in pod.init_containers[0].env}
    assert index == {"ARENAHUB_CODE_PARTS": "4", "ARENAHUB_CODE_BYTES": str(len(archive)),
                     "ARENAHUB_CODE_SHA256": hashlib.sha256(b"".join(joined)).hexdigest()}
    volume = next(v for v in pod.volumes if v.name == "snapshot")
    assert [s.config_map.name for s in volume.projected.sources] == [f"{name}-code-{i}" for i in range(4)]
    assert read_job(training_cluster, namespace, name) is None
    wait_for("the garbage collector to delete the code parts",
             lambda: not code_parts(training_cluster, namespace, spec.job_id), timeout_s=60)


async def test_deleting_a_finished_job_as_the_ttl_controller_does_collects_its_parts(
    training_cluster: ControlPlane, competition: str, tmp_path: Path
):
    executor = make_executor(training_cluster)
    spec = make_spec(code_folder(tmp_path, 1_500_000), competition)
    try:
        handle = await executor.start(spec)
    finally:
        await executor.aclose()
    namespace, name = parse_handle(handle)
    assert len(code_parts(training_cluster, namespace, spec.job_id)) == 2
    with training_cluster.api_client() as api:
        k8s.BatchV1Api(api).delete_namespaced_job(name, namespace, propagation_policy="Background")
    wait_for("the garbage collector to delete the code parts",
             lambda: not code_parts(training_cluster, namespace, spec.job_id), timeout_s=60)


async def test_a_snapshot_over_the_cap_is_refused_and_nothing_is_created(
    training_cluster: ControlPlane, competition: str, tmp_path: Path
):
    executor = make_executor(training_cluster, max_snapshot_bytes=1_000_000)
    spec = make_spec(code_folder(tmp_path, 1_200_000), competition)
    try:
        with pytest.raises(ValueError, match=r"at most 976\.6 KiB \(1000000 bytes.*MAX_SNAPSHOT_BYTES"):
            await executor.start(spec)
    finally:
        await executor.aclose()
    namespace = f"arenahub-runs-{competition}"
    assert read_job(training_cluster, namespace, job_name(spec.job_id)) is None
    assert code_parts(training_cluster, namespace, spec.job_id) == []


async def test_when_a_part_cannot_be_created_the_job_is_deleted_and_with_it_the_parts_made(
    training_cluster: ControlPlane, competition: str, tmp_path: Path
):
    namespace = f"arenahub-runs-{competition}"
    training_cluster.ensure_namespace(namespace, RESTRICTED)
    with training_cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        # kube-root-ca.crt is one; room for two of the run's four parts
        core.create_namespaced_resource_quota(namespace, {
            "metadata": {"name": "three-configmaps"}, "spec": {"hard": {"configmaps": "3"}}})
        wait_for("the quota's usage to be counted", lambda: (core.read_namespaced_resource_quota(
            "three-configmaps", namespace).status.used or {}).get("configmaps") == "1")
    executor = make_executor(training_cluster)
    spec = make_spec(code_folder(tmp_path, 3_500_000), competition)
    try:
        with pytest.raises(AsyncApiException) as refused:
            await executor.start(spec)
    finally:
        await executor.aclose()
    assert refused.value.status == 403 and "exceeded quota" in str(refused.value.body)
    wait_for("the Job to be deleted", lambda: read_job(training_cluster, namespace, job_name(spec.job_id)) is None)
    wait_for("the garbage collector to delete the parts made",
             lambda: not code_parts(training_cluster, namespace, spec.job_id), timeout_s=60)
