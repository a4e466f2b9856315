"""Which physical GPUs this machine offers to notebooks: NVML, then nvidia-smi, then config."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence

from arenahub.core.nvml import nvml_session

from .slices import GpuDevice

log = logging.getLogger(__name__)
MIB = 1024 * 1024


def load_gpus_nvml() -> list[GpuDevice] | None:
    """GPUs as NVML reports them, or None when NVML (the driver) is not there."""
    with nvml_session() as nvml:
        if nvml is None:
            return None
        gpus = []
        for i in range(nvml.nvmlDeviceGetCount()):
            h = nvml.nvmlDeviceGetHandleByIndex(i)
            gpus.append(make_nvml_gpu(i, nvml.nvmlDeviceGetName(h), nvml.nvmlDeviceGetMemoryInfo(h).total,
                                      nvml.nvmlDeviceGetUUID(h)))
        return gpus


def make_nvml_gpu(index: int, name: str | bytes, total_bytes: int, uuid: str | bytes) -> GpuDevice:
    """One GPU from NVML's readings: name and UUID (bytes from older nvidia-ml-py), total memory in bytes."""
    return GpuDevice(index, _text(name), int(total_bytes) // MIB, _text(uuid))


def _text(value: str | bytes) -> str:
    return value if isinstance(value, str) else value.decode()


def load_gpus_smi() -> list[GpuDevice] | None:
    """GPUs from ``nvidia-smi``, or None when it is missing or fails."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return None
    try:
        out = subprocess.run(
            [smi, "--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        return parse_smi_csv(out)
    except ValueError as e:
        log.warning("Notebooks get no GPUs from nvidia-smi: %s. List them under `gpus:` in arenahub.yaml.", e)
        return None


def parse_smi_csv(text: str) -> list[GpuDevice]:
    """GPUs from ``nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv[,noheader][,nounits]``.

    The header line and the ``MiB`` unit are accepted. Raises ValueError naming the line when a
    line is not ``index, name, memory, uuid`` or its memory is not a number (``[N/A]``).
    """
    gpus = []
    for line in text.strip().splitlines():
        if not line.strip() or line.lstrip().startswith("index,"):
            continue
        fields = [x.strip() for x in line.split(",")]
        if len(fields) != 4:
            raise ValueError(f"nvidia-smi line {line!r} has {len(fields)} fields, expected index, name, memory, uuid")
        idx, name, mem, uuid = fields
        try:
            gpus.append(GpuDevice(int(idx), name, int(float(mem.removesuffix("MiB"))), uuid))
        except ValueError:
            raise ValueError(f"nvidia-smi line {line!r} has no numeric index and memory in MiB") from None
    return gpus


def discover_gpus(configured: Sequence[dict] | None) -> tuple[list[GpuDevice], str]:
    """Return the GPU list and where it came from ('config', 'nvml', 'nvidia-smi', 'none').

    A configured inventory wins: it is how machines without GPUs (and tests) declare some.
    """
    if configured is not None:
        return [GpuDevice(int(g.get("index", i)), g.get("name", "GPU"), int(g.get("mem_mib", 81559)),
                          g.get("uuid", "")) for i, g in enumerate(configured)], "config"
    for source, loader in (("nvml", load_gpus_nvml), ("nvidia-smi", load_gpus_smi)):
        gpus = loader()
        if gpus:
            return gpus, source
    return [], "none"
