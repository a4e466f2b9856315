"""Pure builders for notebook pods on Kubernetes: profile to GPU-slice resources, pool placement,
the notebook NetworkPolicy and the plain-words messages a participant sees while spawning."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

from arenahub.core.profiles import Profile, default_profile

BACKENDS = ("hami", "gpumanager", "nvidia-timeslicing", "nvidia-mps", "mig", "whole")
POOL_LABEL = "arenahub.io/pool"
GIB_MIB = 1024
VCUDA_MEMORY_UNIT_MIB = 256  # GPUManager counts tencent.com/vcuda-memory in 256 MiB units

# MIG instances of an 80 GB H100/A100 by compute share (sevenths), smallest first.
H100_MIG_PROFILES: tuple[tuple[float, str], ...] = (
    (1 / 7, "1g.10gb"),
    (2 / 7, "2g.20gb"),
    (3 / 7, "3g.40gb"),
    (4 / 7, "4g.40gb"),
    (1.0, "7g.80gb"),
)


class BackendError(ValueError):
    """A profile cannot be expressed with the configured GPU sharing backend; the message says why."""


@dataclass(frozen=True)
class SliceBackend:
    """How the coding cluster shares its GPUs, as the operator configured it.

    name: one of BACKENDS. gpu_mem_mib: memory of one coding GPU (HAMi and GPUManager requests
    are a share of it). timeslice_replicas: replicas per GPU of the NVIDIA device plugin's
    time-slicing or MPS sharing. mig_profiles: profile slug -> MIG profile (e.g. "1g.10gb");
    slugs not listed get the smallest H100 80GB instance with at least their compute share.
    """

    name: str = "hami"
    gpu_mem_mib: int = 81920
    timeslice_replicas: int = 4
    mig_profiles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotebookResources:
    """What a notebook pod asks the scheduler for: Kubernetes quantities as strings."""

    limits: dict[str, str]
    guarantees: dict[str, str]
    cpu: float
    mem_bytes: int
    env: dict[str, str]


def backend_of(profile: Profile, default: str) -> str:
    """The backend a profile uses: its ``extra["gpu_backend"]`` when set, else ``default``.

    Raises BackendError listing the valid names.
    """
    name = str(profile.extra.get("gpu_backend", default))
    if name not in BACKENDS:
        raise BackendError(
            f"Profile {profile.slug!r}: no GPU sharing backend {name!r}. Available: {', '.join(BACKENDS)}."
        )
    return name


def pick_mig_profile(profile: Profile, configured: Mapping[str, str]) -> str:
    """The MIG profile for ``profile``: the configured one, else the smallest H100 80GB
    instance whose compute share is at least the profile's GPU fraction."""
    if profile.slug in configured:
        return configured[profile.slug]
    for share, name in H100_MIG_PROFILES:
        if profile.gpu_fraction <= share + 1e-9:
            return name
    return H100_MIG_PROFILES[-1][1]


def build_gpu_resources(profile: Profile, backend: SliceBackend) -> dict[str, str]:
    """Extended-resource requests of ``profile`` under ``backend`` (empty for CPU-only profiles).

    hami: nvidia.com/gpu 1 + nvidia.com/gpumem (MiB) + nvidia.com/gpucores (percent);
    gpumanager: tencent.com/vcuda-core (1/100 GPU) + tencent.com/vcuda-memory (256 MiB units);
    nvidia-timeslicing / nvidia-mps: nvidia.com/gpu.shared, replicas = fraction x replicas per GPU;
    mig: one nvidia.com/mig-<profile>; whole: nvidia.com/gpu 1.
    A whole-GPU profile (fraction 1) asks for nvidia.com/gpu 1 under the replica and MIG backends.
    Raises BackendError when the fraction cannot be expressed.
    """
    fraction = profile.gpu_fraction
    if fraction <= 0:
        return {}
    name = backend.name
    if name == "hami":
        return {
            "nvidia.com/gpu": "1",
            "nvidia.com/gpumem": str(int(backend.gpu_mem_mib * fraction)),
            "nvidia.com/gpucores": str(max(1, round(fraction * 100))),
        }
    if name == "gpumanager":
        return {
            "tencent.com/vcuda-core": str(max(1, round(fraction * 100))),
            "tencent.com/vcuda-memory": str(int(backend.gpu_mem_mib * fraction) // VCUDA_MEMORY_UNIT_MIB),
        }
    if fraction >= 1 or name == "whole":
        return {"nvidia.com/gpu": str(math.ceil(fraction))}
    if name in ("nvidia-timeslicing", "nvidia-mps"):
        replicas = fraction * backend.timeslice_replicas
        if replicas < 1 - 1e-9 or abs(replicas - round(replicas)) > 1e-9:
            raise BackendError(
                f"Profile {profile.slug!r} asks for {fraction:g} GPU, which is not a whole number of the "
                f"{backend.timeslice_replicas} {name} replicas per GPU; use a fraction that is a multiple of "
                f"1/{backend.timeslice_replicas} or change timeslice_replicas."
            )
        return {"nvidia.com/gpu.shared": str(round(replicas))}
    if name == "mig":
        return {f"nvidia.com/mig-{pick_mig_profile(profile, backend.mig_profiles)}": "1"}
    raise BackendError(f"No GPU sharing backend {name!r}. Available: {', '.join(BACKENDS)}.")


def build_notebook_resources(profile: Profile, backend: SliceBackend) -> NotebookResources:
    """Requests and limits of a notebook pod for ``profile``: its GPU slice, memory and CPU.

    Extended resources go into both limits and requests (Kubernetes requires them equal).
    """
    gpu = build_gpu_resources(profile, backend)
    env = {"ARENAHUB_PROFILE": profile.slug, "ARENAHUB_GPU_FRACTION": f"{profile.gpu_fraction:g}"}
    if gpu:
        env["ARENAHUB_GPU_BACKEND"] = backend.name
    return NotebookResources(
        limits=dict(gpu),
        guarantees=dict(gpu),
        cpu=profile.cpu,
        mem_bytes=int(profile.mem_gib * 1024**3),
        env=env,
    )


def build_pool_tolerations(pool_tolerations: Sequence[Mapping[str, Any]], uses_gpu: bool) -> list[dict[str, Any]]:
    """Tolerations of a notebook pod: the coding pool's, plus the usual ``nvidia.com/gpu``
    NoSchedule taint of GPU nodes for pods that ask for a slice."""
    tolerations = [dict(t) for t in pool_tolerations]
    if uses_gpu:
        tolerations.append({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"})
    return tolerations


def build_notebook_network_policy(
    name: str,
    notebook_labels: Mapping[str, str],
    hub_labels: Mapping[str, str],
    proxy_labels: Mapping[str, str],
    *,
    notebook_port: int = 8888,
    hub_port: int = 8081,
    proxy_port: int = 8000,
) -> dict[str, Any]:
    """A NetworkPolicy for notebook pods: ingress only from the hub and the proxy on the notebook
    port; egress only to the hub API, the proxy and cluster DNS (UDP/TCP 53). Everything else,
    including the training cluster and the internet, is denied."""
    dns_peer = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "arenahub"}},
        "spec": {
            "podSelector": {"matchLabels": dict(notebook_labels)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{
                "from": [{"podSelector": {"matchLabels": dict(hub_labels)}},
                         {"podSelector": {"matchLabels": dict(proxy_labels)}}],
                "ports": [{"protocol": "TCP", "port": notebook_port}],
            }],
            "egress": [
                {"to": [{"podSelector": {"matchLabels": dict(hub_labels)}}],
                 "ports": [{"protocol": "TCP", "port": hub_port}]},
                {"to": [{"podSelector": {"matchLabels": dict(proxy_labels)}}],
                 "ports": [{"protocol": "TCP", "port": proxy_port}]},
                {"to": [dns_peer],
                 "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
            ],
        },
    }


_INSUFFICIENT = re.compile(r"Insufficient ([\w./-]+)")


def describe_unschedulable(scheduler_message: str, profile: Profile, pvc_name: str = "") -> str:
    """What a participant reads when the scheduler cannot place their notebook pod.

    ``scheduler_message`` is the PodScheduled condition's message ("0/2 nodes are available:
    2 Insufficient nvidia.com/gpumem ..."); the answer says what is missing and what to do.
    """
    if "unbound" in scheduler_message and "PersistentVolumeClaim" in scheduler_message:
        return (
            f"Your home volume{f' ({pvc_name})' if pvc_name else ''} is not ready: the cluster has not bound "
            "it to storage yet, so the server cannot start. Try again in a minute; if it persists, "
            "ask an administrator to check the storage class."
        )
    missing = sorted(set(_INSUFFICIENT.findall(scheduler_message)))
    gpu_missing = [r for r in missing if "gpu" in r or "vcuda" in r or "mig-" in r]
    if gpu_missing:
        return (
            f"No GPU slice free for {profile.display_name} ({profile.summary()}): every coding GPU is in use "
            f"(short of {', '.join(gpu_missing)}). Try again later, choose a smaller profile, or stop "
            "another server of yours."
        )
    if missing:
        return (
            f"No room for {profile.display_name} ({profile.summary()}) on the coding nodes "
            f"(short of {', '.join(missing)}). Try again later or choose a smaller profile."
        )
    return (
        f"Your server ({profile.display_name}) cannot be placed on any coding node: {scheduler_message} "
        "Ask an administrator if this persists."
    )


def describe_spawn_timeout(start_timeout_s: float, phase: str, scheduler_message: str | None,
                           profile: Profile | None, pvc_name: str = "") -> str:
    """What a participant reads when their server misses ``start_timeout_s``: why, when the pod
    is Unschedulable (``scheduler_message``), else the pod's ``phase`` and what to do."""
    if scheduler_message is not None and profile is not None:
        return (f"Your server did not start within {start_timeout_s:g} s: "
                + describe_unschedulable(scheduler_message, profile, pvc_name))
    return (
        f"Your server did not start within {start_timeout_s:g} s (its pod is {phase}). "
        "The cluster may be busy; try again, and tell an administrator if it keeps happening."
    )


def describe_pod_event(reason: str, message: str, profile: Profile) -> str:
    """A pod event in plain words for the spawn progress page (unknown events keep their text)."""
    if reason == "Scheduled":
        node = message.rsplit(" to ", 1)[-1] if " to " in message else ""
        where = f" on {node}" if node else ""
        return f"A GPU slice is reserved for you{where} ({profile.summary()})."
    if reason == "FailedScheduling":
        return "Waiting for a free GPU slice: " + describe_unschedulable(message, profile)
    if reason in ("Pulling", "Pulled"):
        return "Preparing the notebook image" + (" (downloading it)." if reason == "Pulling" else ".")
    if reason in ("Created", "Started"):
        return "Starting your notebook server."
    if reason == "SuccessfulAttachVolume":
        return "Your home folder is attached."
    return message


def unschedulable_message(pod: Mapping[str, Any]) -> str | None:
    """The scheduler's message when ``pod`` (a Pod as a dict) is Pending as Unschedulable, else None."""
    status = pod.get("status") or {}
    if status.get("phase") != "Pending":
        return None
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False" \
                and condition.get("reason") == "Unschedulable":
            return str(condition.get("message") or "")
    return None


def render_kube_profile_form(profiles: Sequence[Profile], chosen: str = "") -> str:
    """HTML radio buttons for JupyterHub's spawn page, one per profile (the scheduler decides
    whether a slice is free, so every profile is offered)."""
    selected = chosen or default_profile(profiles).slug
    rows = []
    for p in profiles:
        rows.append(
            f'<label class="arenahub-profile" style="display:block;margin:.4em 0">'
            f'<input type="radio" name="profile" value="{escape(p.slug)}"'
            f'{" checked" if p.slug == selected else ""}> '
            f"<strong>{escape(p.display_name)}</strong> <small>({escape(p.summary())})</small>"
            f'<br><small style="margin-left:1.6em">{escape(p.description)}</small></label>'
        )
    return "\n".join(rows)
