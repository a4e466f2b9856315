"""Which executor runs jobs: the local bubblewrap sandbox, or Jobs on a Kubernetes training cluster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

if TYPE_CHECKING:
    from arenahub.gateway.executors.base import Executor

TOLERATION_FIELDS = frozenset({"key", "operator", "value", "effect", "tolerationSeconds"})


class KubernetesExecutorSettings(BaseModel):
    """The training cluster (ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__*); see docs/kubernetes.md."""

    model_config = ConfigDict(extra="forbid")
    kubeconfig: Path | None = Field(None, description="The training cluster's kubeconfig; empty: the pod's "
                                    "in-cluster service account.")
    image: str = Field("", description="The job-runner image (images/job-runner); required.")
    namespace_prefix: str = Field("arenahub-runs-", description="Run namespace = prefix + competition id.")
    default_competition: str = Field("default", description="Namespace suffix for jobs of no competition.")
    kueue_queue: str = Field("", description="Kueue LocalQueue name; empty runs Jobs without Kueue.")
    dataset_claim: str = Field("arenahub-datasets", description="PVC in each run namespace holding the datasets.")
    datasets_root: str = Field("/srv/arenahub/datasets", description="Where the gateway sees that volume.")
    cpu_per_gpu: float = Field(8.0, gt=0, description="CPU cores requested per whole GPU.")
    run_as_uid: int = Field(1000, gt=0, description="The job's non-root uid.")
    ensure_namespaces: bool = Field(False, description="Create missing run namespaces and their deny-all "
                                    "policy; off when the arenahub-training chart creates them.")
    pool_selector: dict[str, str] = Field(
        default_factory=lambda: {"arenahub.io/pool": "training"},
        description="Node labels of the training pool (JSON object); Job pods run only on nodes with all of "
        "them. Empty: any node. Keep it equal to the arenahub-training chart's kueue.flavor.nodeLabels.")
    tolerations: list[dict[str, Any]] = Field(
        default_factory=lambda: [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        description="Tolerations of Job pods (JSON list of Kubernetes tolerations) for the training pool's "
        "taints, e.g. a dedicated-pool taint next to the GPU one. Empty: tolerate nothing.")
    ttl_after_finished_s: int = Field(
        3600, ge=0, description="Seconds after which Kubernetes deletes a finished Job and its pod "
        "(ttlSecondsAfterFinished); the gateway has stored the result by then. 0 keeps finished Jobs.")
    priority_class_name: str = Field(
        "", description="PriorityClass of Job pods (it must exist on the training cluster); empty: the "
        "cluster's default priority. Use it to let training preempt lower-priority work on shared nodes.")
    pod_annotations: dict[str, str] = Field(
        default_factory=dict, description="Extra annotations on Job pods (JSON object), e.g. what a device "
        "plugin or scheduler extension reads. Empty: none.")
    outputs_max_bytes: int = Field(
        7 << 20, gt=0, description="Bytes: the cap on a test run's compressed outputs, which its collector "
        "sidecar prints to its pod log for scoring. Its base64 (4/3 of it) must fit in one container log "
        "file: keep it below 3/4 of the kubelet's containerLogMaxSize (default 10Mi).")
    max_snapshot_bytes: int = Field(
        16 << 20, gt=0, le=64 << 20, description="Bytes: the largest compressed code archive a job may have. "
        "The code travels to the pod in ConfigMaps of 1 MB each, stored in the training cluster's etcd "
        "while the Job exists; POST /jobs refuses larger archives with 413 before queueing. Raise it only "
        "with etcd's quota (--quota-backend-bytes, default 2 GiB) in mind: running and finished-but-kept "
        "Jobs times this cap must stay well below it. At most 64 MiB.")

    @field_validator("tolerations")
    @classmethod
    def _tolerations_are_kubernetes_tolerations(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for i, toleration in enumerate(value):
            unknown = sorted(set(toleration) - TOLERATION_FIELDS)
            if unknown:
                raise ValueError(f"tolerations[{i}] has unknown field(s) {', '.join(unknown)}; "
                                 f"a toleration has {', '.join(sorted(TOLERATION_FIELDS))}.")
        return value


class ExecutorSettings(BaseModel):
    """ARENAHUB_GATEWAY_EXECUTOR__KIND=local|kubernetes and the Kubernetes group."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["local", "kubernetes"] = Field(
        "local", description="local: bubblewrap sandboxes on this machine (needs root); kubernetes: batch/v1 "
        "Jobs on the training cluster.")
    kubernetes: KubernetesExecutorSettings = Field(default_factory=KubernetesExecutorSettings)

    @model_validator(mode="after")
    def _kubernetes_needs_an_image(self) -> ExecutorSettings:
        if self.kind == "kubernetes" and not self.kubernetes.image:
            raise ValueError("ARENAHUB_GATEWAY_EXECUTOR__KUBERNETES__IMAGE is empty: name the job-runner image "
                             "the training cluster pulls (images/job-runner).")
        return self


def snapshot_cap(settings: ExecutorSettings) -> int | None:
    """The largest compressed code archive the chosen executor can run, in bytes; None: no cap of
    its own (the local executor reads the extracted folder, so only upload_max_bytes applies)."""
    return settings.kubernetes.max_snapshot_bytes if settings.kind == "kubernetes" else None


def make_executor(settings: ExecutorSettings, state_dir: Path) -> Executor:
    """The executor the settings name (imported only when chosen: each needs its own machinery)."""
    if settings.kind == "local":
        from arenahub.gateway.executors.local import LocalExecutor

        return LocalExecutor(state_dir)
    kube = settings.kubernetes
    from arenahub.gateway.executors.kubejobs import KubeJobSettings
    from arenahub.gateway.executors.kubernetes import KubernetesExecutor

    job_settings = KubeJobSettings(
        image=kube.image, namespace_prefix=kube.namespace_prefix, default_competition=kube.default_competition,
        kueue_queue=kube.kueue_queue, dataset_claim=kube.dataset_claim, datasets_root=kube.datasets_root,
        cpu_per_gpu=kube.cpu_per_gpu, run_as_uid=kube.run_as_uid, pool_selector=dict(kube.pool_selector),
        tolerations=tuple(dict(t) for t in kube.tolerations), ttl_after_finished_s=kube.ttl_after_finished_s,
        priority_class_name=kube.priority_class_name, pod_annotations=dict(kube.pod_annotations),
        outputs_max_bytes=kube.outputs_max_bytes, max_snapshot_bytes=kube.max_snapshot_bytes,
    )
    return KubernetesExecutor(job_settings, kubeconfig=kube.kubeconfig, ensure_namespaces=kube.ensure_namespaces)
