"""Pure placement of fractional GPU slices (0.25, 0.5 ...) onto physical GPUs.

Binpack: a new slice goes to the fullest GPU that still has room, so whole GPUs stay free
for whole-GPU profiles. A GPU is never filled past 100 %. No I/O here: the spawner keeps
the allocation table and persists each server's slice in its JupyterHub state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Fractions are summed in exact units of 1/UNITS of a GPU, so 4 x 0.25 is exactly 1.
UNITS = 1000


@dataclass(frozen=True)
class GpuDevice:
    """One physical GPU the machine offers to notebooks."""

    index: int
    name: str = "GPU"
    mem_mib: int = 81559
    uuid: str = ""


@dataclass(frozen=True)
class Slice:
    """The part of one GPU given to one server."""

    gpu_index: int
    fraction: float
    mem_limit_mib: int

    def cuda_env(self) -> dict[str, str]:
        """Environment that makes CUDA (through NVIDIA MPS) honour this slice.

        Inside the server the GPU is always device 0 because CUDA_VISIBLE_DEVICES names one
        GPU, so the pinned-memory limit is written for device 0.
        """
        return {
            "CUDA_VISIBLE_DEVICES": str(self.gpu_index),
            "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": str(max(1, round(self.fraction * 100))),
            "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT": f"0={self.mem_limit_mib}M",
            "ARENAHUB_GPU_FRACTION": f"{self.fraction:g}",
        }


class NoSliceFree(RuntimeError):
    """No GPU has room for the requested fraction; the message says how full they are."""


def _units(fraction: float) -> int:
    return round(fraction * UNITS)


def used_units(allocations: Mapping[str, Slice]) -> dict[int, int]:
    """Units used per GPU index by the given allocations."""
    used: dict[int, int] = {}
    for s in allocations.values():
        used[s.gpu_index] = used.get(s.gpu_index, 0) + _units(s.fraction)
    return used


def place_slice(
    fraction: float,
    gpus: Sequence[GpuDevice],
    allocations: Mapping[str, Slice],
    *,
    mem_limit_mib: int | None = None,
) -> Slice:
    """Choose a GPU for a new slice of ``fraction`` (0 < fraction <= 1) by binpack.

    ``allocations`` maps server keys to the slices they hold now. Raises NoSliceFree with
    a message such as "no 0.25 slice free: 4/4 GPUs full".
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    need = _units(fraction)
    used = used_units(allocations)
    fits = [g for g in gpus if used.get(g.index, 0) + need <= UNITS]
    if not fits:
        full = sum(1 for g in gpus if used.get(g.index, 0) >= UNITS)
        if not gpus:
            raise NoSliceFree(f"no {fraction:g} GPU slice free: this machine offers no GPUs to notebooks")
        raise NoSliceFree(
            f"no {fraction:g} GPU slice free: {full}/{len(gpus)} GPUs full"
            + ("" if full == len(gpus) else ", the others have less than that left")
        )
    # Fullest first; ties go to the lowest index so placement is predictable.
    best = max(fits, key=lambda g: (used.get(g.index, 0), -g.index))
    mem = mem_limit_mib if mem_limit_mib is not None else int(best.mem_mib * fraction)
    return Slice(gpu_index=best.index, fraction=fraction, mem_limit_mib=mem)


def free_fraction(gpus: Sequence[GpuDevice], allocations: Mapping[str, Slice]) -> dict[int, float]:
    """Free share (0..1) of each GPU, for progress messages and metrics."""
    used = used_units(allocations)
    return {g.index: (UNITS - used.get(g.index, 0)) / UNITS for g in gpus}
