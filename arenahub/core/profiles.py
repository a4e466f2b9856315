"""Notebook profiles: the GPU fraction, memory and CPU a participant's server gets.

Profiles are shared by the local spawner, the Kubernetes spawner and the quota checks, so
they are plain frozen values here; each spawner turns them into a real slice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class ProfileError(ValueError):
    """A profile definition or a user's profile choice is invalid; the message says why."""


@dataclass(frozen=True)
class Profile:
    """One entry of the spawn form: what a server started with it may use.

    ``gpu_fraction`` is 0 for CPU-only servers, a fraction (0.25, 0.5) for a slice of one
    GPU, or 1 for a whole GPU. ``idle_timeout_s`` overrides the culler's timeout for servers
    of this profile (0: use the hub-wide timeout).

    Kernel culling (jupyter-server's MappingKernelManager, inside the server): an idle kernel
    is shut down after ``kernel_idle_timeout_s`` while the server stays up, so the GPU memory
    the kernel holds returns within minutes. None picks the default for the profile's kind:
    900 s with a GPU, 3600 s without; 0 turns kernel culling off. ``kernel_cull_connected``
    (None: True with a GPU) also culls kernels a browser tab is still connected to;
    ``kernel_cull_busy`` culls kernels that are running code (off: a long cell is never cut).

    Unattended culling (the hub's idle culler): a server idle for ``unattended_timeout_s``
    with no browser connected to any of its kernels and no kernel running code is stopped
    without waiting for ``idle_timeout_s``; its slice returns to the pool. None: 300 s with a
    GPU, off without; 0: off.
    """

    slug: str
    display_name: str
    gpu_fraction: float = 0.0
    mem_gib: float = 4.0
    cpu: float = 1.0
    description: str = ""
    idle_timeout_s: int = 0
    default: bool = False
    max_procs: int = 512
    extra: Mapping[str, Any] = field(default_factory=dict)
    kernel_idle_timeout_s: int | None = None
    kernel_cull_interval_s: int = 60
    kernel_cull_connected: bool | None = None
    kernel_cull_busy: bool = False
    unattended_timeout_s: int | None = None

    @property
    def uses_gpu(self) -> bool:
        return self.gpu_fraction > 0

    def kernel_culling(self) -> KernelCulling:
        """The kernel-culling settings of servers of this profile, defaults resolved."""
        gpu = self.uses_gpu
        idle = self.kernel_idle_timeout_s
        return KernelCulling(
            idle_timeout_s=(GPU_KERNEL_IDLE_S if gpu else CPU_KERNEL_IDLE_S) if idle is None else idle,
            interval_s=self.kernel_cull_interval_s,
            cull_connected=gpu if self.kernel_cull_connected is None else self.kernel_cull_connected,
            cull_busy=self.kernel_cull_busy,
        )

    def unattended_limit_s(self) -> int:
        """Seconds an unattended server of this profile may idle before it is culled; 0: never early."""
        if self.unattended_timeout_s is None:
            return GPU_UNATTENDED_S if self.uses_gpu else 0
        return self.unattended_timeout_s

    def summary(self) -> str:
        """Human description for the spawn form, e.g. '0.25 GPU · 8 GiB · 1 CPU'."""
        gpu = f"{self.gpu_fraction:g} GPU · " if self.uses_gpu else "no GPU · "
        return f"{gpu}{self.mem_gib:g} GiB · {self.cpu:g} CPU"


GPU_KERNEL_IDLE_S = 900  # an idle kernel on a GPU profile holds GPU memory others could use
CPU_KERNEL_IDLE_S = 3600
# A GPU server nobody is connected to (tab closed, laptop asleep) gives its slice back after
# 5 idle minutes: a respawn takes about a second and the home persists (docs/observability.md).
GPU_UNATTENDED_S = 300


@dataclass(frozen=True)
class KernelCulling:
    """jupyter-server kernel culling of one server (``MappingKernelManager.cull_*``); 0 s turns it off."""

    idle_timeout_s: int
    interval_s: int
    cull_connected: bool
    cull_busy: bool

    def server_args(self) -> list[str]:
        """Command-line options for jupyter-server; [] when culling is off."""
        if self.idle_timeout_s <= 0:
            return []
        return [
            f"--MappingKernelManager.cull_idle_timeout={self.idle_timeout_s}",
            f"--MappingKernelManager.cull_interval={max(1, self.interval_s)}",
            f"--MappingKernelManager.cull_connected={self.cull_connected}",
            f"--MappingKernelManager.cull_busy={self.cull_busy}",
        ]


DEFAULT_PROFILES: tuple[Profile, ...] = (
    Profile("cpu", "CPU only", 0.0, 4, 1, "For data exploration; no GPU.", default=False),
    Profile("gpu-quarter", "0.25 GPU", 0.25, 8, 1, "A quarter of one GPU (NVIDIA MPS).",
            idle_timeout_s=1800, default=True),
    Profile("gpu-half", "0.5 GPU", 0.5, 16, 2, "Half of one GPU (NVIDIA MPS).", idle_timeout_s=1800),
    Profile("gpu-whole", "1 GPU", 1.0, 32, 4, "One whole GPU.", idle_timeout_s=1200),
)


def validate_profiles(profiles: Sequence[Profile]) -> None:
    """Raise ProfileError naming the first bad entry (slug, fraction, duplicates)."""
    if not profiles:
        raise ProfileError("profiles: at least one profile is needed")
    seen: set[str] = set()
    for i, p in enumerate(profiles):
        where = f"profiles[{i}] ({p.slug!r})"
        if not SLUG_RE.match(p.slug):
            raise ProfileError(f"{where}: slug must be lower-case letters, digits and '-'")
        if p.slug in seen:
            raise ProfileError(f"{where}: slug is used twice")
        seen.add(p.slug)
        if not 0 <= p.gpu_fraction <= 1:
            raise ProfileError(f"{where}: gpu_fraction must be between 0 and 1, got {p.gpu_fraction}")
        if p.gpu_fraction > 0 and round(1 / p.gpu_fraction, 6) % 1:
            raise ProfileError(
                f"{where}: gpu_fraction {p.gpu_fraction} does not divide a GPU evenly; use 1/n (0.5, 0.25, 0.125 ...)"
            )
        if p.mem_gib <= 0 or p.cpu <= 0:
            raise ProfileError(f"{where}: mem_gib and cpu must be greater than 0")
        if (p.unattended_timeout_s or 0) < 0:
            raise ProfileError(f"{where}: unattended_timeout_s must be 0 or more (0: off)")
        if (p.kernel_idle_timeout_s or 0) < 0 or p.kernel_cull_interval_s <= 0:
            raise ProfileError(f"{where}: kernel_idle_timeout_s must be 0 or more (0: off) and "
                               "kernel_cull_interval_s greater than 0")
    if sum(p.default for p in profiles) > 1:
        raise ProfileError("profiles: more than one profile is marked default")


def profile_from_dict(raw: Mapping[str, Any]) -> Profile:
    """Build a Profile from a config mapping (KubeSpawner-style keys are accepted)."""
    known = {f for f in Profile.__dataclass_fields__}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ProfileError(f"profile {raw.get('slug')!r}: unknown keys {unknown}; valid keys: {sorted(known)}")
    try:
        return Profile(**dict(raw))
    except TypeError as e:
        raise ProfileError(f"profile {raw.get('slug')!r}: {e}") from None


def default_profile(profiles: Sequence[Profile]) -> Profile:
    for p in profiles:
        if p.default:
            return p
    return profiles[0]


def select_profile(user_options: Mapping[str, Any] | None, profiles: Sequence[Profile]) -> Profile:
    """Return the profile a user asked for in ``user_options`` (key ``profile``).

    No choice means the default profile. Raises ProfileError listing the valid slugs.
    """
    if user_options is None:
        user_options = {}
    if not isinstance(user_options, Mapping):
        raise ProfileError("user_options must be a JSON object such as {\"profile\": \"gpu-quarter\"}")
    unknown = sorted(set(user_options) - {"profile"})
    if unknown:
        raise ProfileError(f"Unknown option(s) {', '.join(unknown)}; the only option is 'profile'.")
    slug = user_options.get("profile")
    if slug in (None, ""):
        return default_profile(profiles)
    if not isinstance(slug, str):
        raise ProfileError(f"'profile' must be a string slug, got {type(slug).__name__}.")
    for p in profiles:
        if p.slug == slug:
            return p
    valid = ", ".join(p.slug for p in profiles)
    raise ProfileError(f"No profile {slug!r}. Available: {valid}.")
