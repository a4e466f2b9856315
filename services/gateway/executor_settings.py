"""Which executor runs jobs: the local bubblewrap sandbox, or Jobs on a Kubernetes training cluster."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from arenahub.gateway.executors.base import Executor


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
        cpu_per_gpu=kube.cpu_per_gpu, run_as_uid=kube.run_as_uid,
    )
    return KubernetesExecutor(job_settings, kubeconfig=kube.kubeconfig, ensure_namespaces=kube.ensure_namespaces)
