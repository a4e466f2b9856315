"""Manifests of fake GPU nodes for KWOK: coding nodes with slice resources, training nodes with whole GPUs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")  # the nodes this harness's kwok manages
POOL_LABEL = "arenahub.io/pool"
GPU_PRODUCT_LABEL = "nvidia.com/gpu.product"

SLICE_BACKENDS = ("hami", "gpumanager", "nvidia-timeslicing", "nvidia-mps", "mig")
ALL_BACKENDS = SLICE_BACKENDS + ("whole",)


@dataclass(frozen=True)
class GpuNodeShape:
    """One fake machine: its GPUs and how each sharing technology would advertise them.

    Defaults model a 64-core machine with H100 80GB GPUs. ``hami_split`` is HAMi's
    deviceSplitCount (vGPUs per GPU), ``timeslice_replicas`` the NVIDIA device plugin's
    time-slicing/MPS replicas per GPU, ``mig_per_gpu`` how many instances of ``mig_profile``
    one GPU is cut into (mixed strategy).
    """

    gpus: int = 2
    gpu_mem_mib: int = 81920
    hami_split: int = 10
    timeslice_replicas: int = 4
    mig_profile: str = "1g.10gb"
    mig_per_gpu: int = 7
    gpu_product: str = "NVIDIA-H100-80GB-HBM3"
    cpu: str = "64"
    memory: str = "512Gi"
    ephemeral_storage: str = "2Ti"
    pods: str = "110"


def gpu_resources(backend: str, shape: GpuNodeShape) -> dict[str, str]:
    """Extended resources a node of `shape` advertises under `backend` (quantities as strings).

    hami: nvidia.com/gpu (vGPUs), nvidia.com/gpumem (MiB), nvidia.com/gpucores (percent);
    gpumanager: tencent.com/vcuda-core (1/100 GPU), tencent.com/vcuda-memory (256 MiB units);
    nvidia-timeslicing / nvidia-mps: nvidia.com/gpu.shared (replicas);
    mig: nvidia.com/mig-<profile>; whole: nvidia.com/gpu. Raises ValueError for other names.
    """
    g = shape.gpus
    if backend == "hami":
        return {
            "nvidia.com/gpu": str(g * shape.hami_split),
            "nvidia.com/gpumem": str(g * shape.gpu_mem_mib),
            "nvidia.com/gpucores": str(g * 100),
        }
    if backend == "gpumanager":
        return {"tencent.com/vcuda-core": str(g * 100), "tencent.com/vcuda-memory": str(g * shape.gpu_mem_mib // 256)}
    if backend in ("nvidia-timeslicing", "nvidia-mps"):
        return {"nvidia.com/gpu.shared": str(g * shape.timeslice_replicas)}
    if backend == "mig":
        return {f"nvidia.com/mig-{shape.mig_profile}": str(g * shape.mig_per_gpu)}
    if backend == "whole":
        return {"nvidia.com/gpu": str(g)}
    raise ValueError(f"No GPU sharing backend {backend!r}. Available: {', '.join(ALL_BACKENDS)}.")


def build_node(
    name: str,
    pool: str,
    resources: Mapping[str, str],
    *,
    shape: GpuNodeShape = GpuNodeShape(),
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
) -> dict[str, Any]:
    """A Node manifest that the harness's kwok manages, in `pool`, with `resources` on top of CPU/memory/pods.

    Capacity and allocatable are equal. Taints are dicts like {"key": ..., "effect": "NoSchedule"}.
    """
    amounts = {"cpu": shape.cpu, "memory": shape.memory, "ephemeral-storage": shape.ephemeral_storage,
               "pods": shape.pods, **resources}
    all_labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "type": "kwok",
        POOL_LABEL: pool,
        GPU_PRODUCT_LABEL: shape.gpu_product,
        **(labels or {}),
    }
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": all_labels,
            "annotations": {KWOK_NODE_ANNOTATION[0]: KWOK_NODE_ANNOTATION[1], "node.alpha.kubernetes.io/ttl": "0"},
        },
        "spec": {"taints": [dict(t) for t in taints]} if taints else {},
        "status": {"capacity": dict(amounts), "allocatable": dict(amounts)},
    }


def build_coding_nodes(
    count: int = 2,
    *,
    shape: GpuNodeShape = GpuNodeShape(),
    backends: Iterable[str] = SLICE_BACKENDS,
    name_prefix: str = "coding-gpu",
    pool: str = "coding",
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
) -> list[dict[str, Any]]:
    """`count` coding-pool nodes advertising the slice resources of every backend in `backends`.

    A real node runs one sharing technology; advertising several on one fake node lets one
    pool serve every backend's tests. Names are `<name_prefix>-0`, `-1`, ...
    """
    resources: dict[str, str] = {}
    for backend in backends:
        resources.update(gpu_resources(backend, shape))
    return [
        build_node(f"{name_prefix}-{i}", pool, resources, shape=shape, labels=labels, taints=taints)
        for i in range(count)
    ]


def build_training_nodes(
    count: int = 3,
    gpus_per_node: int = 3,
    *,
    name_prefix: str = "training-gpu",
    pool: str = "training",
    labels: Mapping[str, str] | None = None,
    taints: Sequence[Mapping[str, str]] = (),
) -> list[dict[str, Any]]:
    """`count` training-pool nodes with `gpus_per_node` whole `nvidia.com/gpu` each (seed 004: 3 x 3)."""
    shape = GpuNodeShape(gpus=gpus_per_node)
    return [
        build_node(f"{name_prefix}-{i}", pool, gpu_resources("whole", shape), shape=shape, labels=labels, taints=taints)
        for i in range(count)
    ]


def build_default_nodes(cluster_name: str) -> list[dict[str, Any]]:
    """The nodes a harness cluster starts with in the test fixtures and `scripts/k8s-harness up`:
    coding: 2 coding nodes (2 GPUs, every slice backend); training: 3 nodes x 3 whole GPUs."""
    if cluster_name == "coding":
        return build_coding_nodes(2)
    if cluster_name == "training":
        return build_training_nodes(3, 3)
    raise ValueError(f"No default nodes for cluster {cluster_name!r}. Known: coding, training.")
