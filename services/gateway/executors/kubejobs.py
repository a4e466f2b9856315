"""Pure builders for runs on the training cluster: the namespace, the deny-all NetworkPolicy and the
restricted ``batch/v1`` Job of one run (its code parts: ``kubecode``), and a Job's outcome."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any

from arenahub.gateway.executors.base import RunResult, RunSpec
from arenahub.gateway.executors.kubecode import (
    DEFAULT_MAX_SNAPSHOT_BYTES,
    UNPACK_CONTAINER,
    CodeIndex,
    build_code_volume,
    build_unpack_container,
)
from arenahub.jobrunner.outputframe import DEFAULT_MAX_BYTES

MANAGED_BY = ("app.kubernetes.io/managed-by", "arenahub-gateway")
COMPONENT = ("arenahub.io/component", "job")
JOB_ID_LABEL = "arenahub.io/job-id"
USER_LABEL = "arenahub.io/user-hash"
CANCELLED_LABEL = "arenahub.io/cancelled"
KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
COMPETITION_ENV = "ARENAHUB_COMPETITION"
JOB_CONTAINER = "job"
COLLECTOR_CONTAINER = "collect-outputs"  # test runs only: prints /workspace/outputs as an output frame
JOB_KIND_ENV = "ARENAHUB_JOB_KIND"  # set by the gateway (arenahub.gateway.runspecs), never by the job
OUTPUTS_PATH = "/workspace/outputs"  # ARENAHUB_OUTPUT_DIR of a test run
# A test run's pod gets this much time between the kubelet's SIGTERM to the collector (sent once
# the job's container has exited) and SIGKILL; the collector gives up COLLECT_MARGIN_S before it.
TEST_GRACE_S = 60
COLLECT_MARGIN_S = 10
_DNS_LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class KubeJobSettings:
    """How the gateway runs jobs on the training cluster (see docs/kubernetes.md).

    image: the training/test image (must have python3). namespace_prefix + competition = the
    run's namespace. pool_selector / tolerations: the training pool's nodes. cpu_per_gpu: CPU
    cores requested per whole GPU. kueue_queue: a Kueue LocalQueue name; empty runs Jobs without
    Kueue (created unsuspended). dataset_claim: PVC (in each run namespace) holding the datasets,
    the same volume the gateway sees at datasets_root. run_as_uid: the job's non-root uid.
    ttl_after_finished_s: when Kubernetes deletes a finished Job (0 keeps it).
    priority_class_name: PriorityClass of job pods (empty: the cluster's default).
    pod_annotations: extra annotations on job pods (e.g. for a device plugin or kwok).
    outputs_max_bytes: the cap on a test run's compressed outputs, which its collector sidecar
    prints to its log (see arenahub.jobrunner.outputframe.DEFAULT_MAX_BYTES for why 7 MiB).
    max_snapshot_bytes: the cap on a run's compressed code snapshot, which travels in ConfigMaps of
    at most kubecode.CONFIGMAP_LIMIT_BYTES each (see docs/kubernetes.md for why 16 MiB).
    """

    image: str
    namespace_prefix: str = "arenahub-runs-"
    default_competition: str = "default"
    pool_selector: Mapping[str, str] = field(default_factory=lambda: {"arenahub.io/pool": "training"})
    tolerations: Sequence[Mapping[str, str]] = (
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    )
    cpu_per_gpu: float = 8.0
    cpu_without_gpu: float = 2.0
    kueue_queue: str = ""
    dataset_claim: str = "arenahub-datasets"
    datasets_root: str = "/srv/arenahub/datasets"
    run_as_uid: int = 1000
    ttl_after_finished_s: int = 3600
    priority_class_name: str = ""
    pod_annotations: Mapping[str, str] = field(default_factory=dict)
    outputs_max_bytes: int = DEFAULT_MAX_BYTES
    max_snapshot_bytes: int = DEFAULT_MAX_SNAPSHOT_BYTES


def dns_label(text: str, max_len: int = 63) -> str:
    """``text`` as a DNS label: lower-case letters, digits and '-', at most ``max_len`` characters;
    a hash suffix keeps shortened or changed names distinct."""
    clean = _DNS_LABEL.sub("-", text.lower()).strip("-") or "x"
    if clean == text and len(clean) <= max_len:
        return clean
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{clean[: max_len - 9].rstrip('-')}-{digest}"


def job_name(job_id: str) -> str:
    """The Job's name for a gateway job id (its code parts are kubecode.part_name(job name, i))."""
    return dns_label(f"arenahub-run-{job_id}")


def namespace_for(spec: RunSpec, settings: KubeJobSettings) -> str:
    """The run's namespace: the prefix plus the competition (RunSpec env ARENAHUB_COMPETITION)."""
    competition = spec.env.get(COMPETITION_ENV) or settings.default_competition
    return dns_label(settings.namespace_prefix + competition)


def run_namespaces(competitions: Iterable[str], settings: KubeJobSettings) -> list[str]:
    """The run namespaces of ``competitions`` and of the default competition, sorted, each once."""
    names = {*competitions, settings.default_competition}
    return sorted({dns_label(settings.namespace_prefix + name) for name in names if name})


def build_namespace(name: str) -> dict[str, Any]:
    """A run namespace enforcing the ``restricted`` Pod Security Standard."""
    psa = {f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")}
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {**psa, MANAGED_BY[0]: MANAGED_BY[1]}}}


def build_deny_all_policy(namespace: str) -> dict[str, Any]:
    """A NetworkPolicy denying every ingress and egress of job pods (init step included)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "arenahub-jobs-deny-all", "namespace": namespace,
                     "labels": {MANAGED_BY[0]: MANAGED_BY[1]}},
        "spec": {"podSelector": {"matchLabels": {COMPONENT[0]: COMPONENT[1]}},
                 "policyTypes": ["Ingress", "Egress"], "ingress": [], "egress": []},
    }


def build_labels(spec: RunSpec) -> dict[str, str]:
    """Labels of everything a run creates; the gateway finds its Jobs again by them."""
    return {
        MANAGED_BY[0]: MANAGED_BY[1],
        COMPONENT[0]: COMPONENT[1],
        JOB_ID_LABEL: dns_label(spec.job_id),
        USER_LABEL: hashlib.sha256(spec.user.encode()).hexdigest()[:16],
    }


def dataset_volume_mounts(spec: RunSpec, datasets_root: str) -> list[dict[str, Any]]:
    """Read-only mounts of the dataset parts as subPaths of the datasets volume.

    Raises ValueError for a mount outside ``datasets_root`` or one asked to be writable.
    """
    root = PurePosixPath(posixpath.normpath(datasets_root))
    mounts = []
    for mount in spec.mounts:
        host = PurePosixPath(posixpath.normpath(str(mount.host)))
        if mount.writable:
            raise ValueError(f"Mount {mount.target} is writable; job pods get datasets read-only only.")
        if host == root or root not in host.parents:
            raise ValueError(
                f"Dataset folder {mount.host} is not under the datasets volume root {datasets_root}; "
                "register datasets below it (KubeJobSettings.datasets_root) so job pods can mount them."
            )
        mounts.append({"name": "datasets", "mountPath": mount.target, "subPath": str(host.relative_to(root)),
                       "readOnly": True})
    return mounts


def _container_security(uid: int) -> dict[str, Any]:
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def build_collector(settings: KubeJobSettings) -> dict[str, Any]:
    """The collector sidecar of a test run: the job-runner image's own code (never the job's), the
    workspace read-only, printing the outputs as an output frame once the job's container has exited.

    A native sidecar (an init container with ``restartPolicy: Always``): it starts before the job
    and gets SIGTERM only after the job's container ended, so the pod (and the Job) completes only
    once the frame is in its log. Requests equal limits so a GPU pod keeps Guaranteed QoS.
    """
    uid = settings.run_as_uid
    return {
        "name": COLLECTOR_CONTAINER,
        "image": settings.image,
        "restartPolicy": "Always",
        # -I: isolated mode, so neither the working folder nor PYTHON* variables can put other code
        # before the image's own; -B: nothing written next to the image's modules.
        "command": ["python3", "-I", "-B", "-m", "arenahub.jobrunner.collector", "--outputs", OUTPUTS_PATH,
                    "--max-bytes", str(settings.outputs_max_bytes),
                    "--deadline-s", str(TEST_GRACE_S - COLLECT_MARGIN_S)],
        "workingDir": "/",
        "securityContext": _container_security(uid),
        "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "500m", "memory": "256Mi"}},
        "volumeMounts": [{"name": "workspace", "mountPath": "/workspace", "readOnly": True}],
    }


def is_test_run(spec: RunSpec) -> bool:
    """Whether the run is a test run (its outputs are collected for scoring)."""
    return spec.env.get(JOB_KIND_ENV) == "test"


def build_job(spec: RunSpec, settings: KubeJobSettings, *, name: str, namespace: str,
              code: CodeIndex) -> dict[str, Any]:
    """The restricted Job of one run: whole GPUs, deadline = wall-clock limit, no retries, no
    service-account token, code (the parts ``code`` indexes) checked and unpacked by an init step,
    datasets read-only, no network (the namespace's deny-all policy selects it); a test run also
    gets the outputs collector sidecar. Raises ValueError for mounts it cannot express."""
    labels = build_labels(spec)
    gpus = len(spec.gpus)
    cpu = settings.cpu_per_gpu * gpus if gpus else settings.cpu_without_gpu
    amounts = {"cpu": f"{cpu:g}", "memory": str(spec.limits.mem_bytes),
               "ephemeral-storage": str(spec.limits.disk_bytes)}
    if gpus:
        amounts["nvidia.com/gpu"] = str(gpus)
    volume_mounts = [
        {"name": "workspace", "mountPath": "/workspace"},
        {"name": "tmp", "mountPath": "/tmp"},
        *dataset_volume_mounts(spec, settings.datasets_root),
    ]
    volumes: list[dict[str, Any]] = [
        build_code_volume(name, code),
        {"name": "workspace", "emptyDir": {"sizeLimit": str(spec.limits.disk_bytes)}},
        {"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "256Mi"}},
    ]
    if spec.mounts:
        volumes.append({"name": "datasets",
                        "persistentVolumeClaim": {"claimName": settings.dataset_claim, "readOnly": True}})
    env = [{"name": k, "value": v} for k, v in sorted(spec.env.items())]
    env += [{"name": "HOME", "value": "/tmp"}, {"name": "PYTHONUNBUFFERED", "value": "1"}]
    job_labels = dict(labels)
    if settings.kueue_queue:
        job_labels[KUEUE_QUEUE_LABEL] = settings.kueue_queue
    uid = settings.run_as_uid
    pod_spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {"runAsNonRoot": True, "runAsUser": uid, "runAsGroup": uid, "fsGroup": uid,
                            "seccompProfile": {"type": "RuntimeDefault"}},
        "nodeSelector": dict(settings.pool_selector),
        "tolerations": [dict(t) for t in settings.tolerations],
        "initContainers": [build_unpack_container(settings.image, code, _container_security(uid))],
        "containers": [{
            "name": JOB_CONTAINER,
            "image": settings.image,
            "command": list(spec.argv),
            "workingDir": "/workspace",
            "env": env,
            "securityContext": _container_security(uid),
            "resources": {"limits": dict(amounts), "requests": dict(amounts)},
            "volumeMounts": volume_mounts,
        }],
        "volumes": volumes,
    }
    if is_test_run(spec):
        pod_spec["initContainers"].append(build_collector(settings))
        pod_spec["terminationGracePeriodSeconds"] = TEST_GRACE_S
    if settings.priority_class_name:
        pod_spec["priorityClassName"] = settings.priority_class_name
    template_meta: dict[str, Any] = {"labels": dict(labels)}
    if settings.pod_annotations:
        template_meta["annotations"] = dict(settings.pod_annotations)
    job_spec: dict[str, Any] = {
        "backoffLimit": 0,
        "completions": 1,
        "parallelism": 1,
        "activeDeadlineSeconds": spec.limits.wall_s,
        "suspend": bool(settings.kueue_queue),  # Kueue admits (unsuspends) it when quota allows
        "template": {"metadata": template_meta, "spec": pod_spec},
    }
    if settings.ttl_after_finished_s:
        job_spec["ttlSecondsAfterFinished"] = settings.ttl_after_finished_s
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": namespace, "labels": job_labels},
            "spec": job_spec}


def _timestamp(value: Any, default: float) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return default


def job_outcome(job: Mapping[str, Any], pods: Sequence[Mapping[str, Any]], now: float) -> RunResult | None:
    """How a Job (as a dict) ended, or None while it is queued or running.

    Complete -> succeeded; Failed with DeadlineExceeded -> timeout; other Failed -> failed with
    the job container's exit code; labelled cancelled -> cancelled (also while being deleted).
    """
    labels = (job.get("metadata") or {}).get("labels") or {}
    if labels.get(CANCELLED_LABEL) == "true":
        return RunResult("cancelled", None, "Cancelled: the Job was deleted on request.", now)
    conditions = (job.get("status") or {}).get("conditions") or []
    done = {c.get("type"): c for c in conditions if c.get("status") == "True"}
    if "Complete" in done:
        return RunResult("succeeded", 0, "The job finished with exit code 0.",
                         _timestamp(done["Complete"].get("lastTransitionTime"), now))
    if "Failed" not in done:
        return None
    failed = done["Failed"]
    at = _timestamp(failed.get("lastTransitionTime"), now)
    if failed.get("reason") == "DeadlineExceeded":
        limit = (job.get("spec") or {}).get("activeDeadlineSeconds")
        return RunResult("timeout", None, f"Stopped: the job ran past its time limit of {limit} s.", at)
    exit_code = _exit_code(pods)
    reason = f"The job failed with exit code {exit_code}." if exit_code is not None else \
        _unpack_failure(pods) or \
        f"The job failed: {failed.get('message') or failed.get('reason') or 'no reason given'}."
    return RunResult("failed", exit_code, reason, at)


def _exit_code(pods: Sequence[Mapping[str, Any]]) -> int | None:
    for pod in pods:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated")
            if status.get("name") == JOB_CONTAINER and terminated:
                return int(terminated.get("exitCode", 1))
    return None


def _unpack_failure(pods: Sequence[Mapping[str, Any]]) -> str | None:
    for pod in pods:
        for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
            terminated = (status.get("state") or {}).get("terminated")
            if status.get("name") == UNPACK_CONTAINER and terminated and terminated.get("exitCode"):
                message = (terminated.get("message") or "").strip().splitlines()
                return message[-1] if message else \
                    f"The job's code could not be unpacked (exit code {terminated['exitCode']})."
    return None
