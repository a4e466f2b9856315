"""The Kubernetes test harness: real control planes on loopback with kwok-faked GPU nodes."""

from .binaries import HarnessBinaries, HarnessNotBuilt, find_binaries
from .cluster import CODING, TRAINING, ClusterSpec, ControlPlane, start_control_plane, start_control_planes
from .kwok import build_pod_lifecycle_annotations
from .nodes import (
    POOL_LABEL,
    GpuNodeShape,
    build_coding_nodes,
    build_default_nodes,
    build_node,
    build_training_nodes,
    gpu_resources,
)
from .processes import ComponentFailed

__all__ = [
    "CODING", "TRAINING", "POOL_LABEL", "ClusterSpec", "ComponentFailed", "ControlPlane",
    "GpuNodeShape", "HarnessBinaries", "HarnessNotBuilt", "build_coding_nodes", "build_default_nodes", "build_node",
    "build_pod_lifecycle_annotations", "build_training_nodes", "find_binaries", "gpu_resources",
    "start_control_plane", "start_control_planes",
]
