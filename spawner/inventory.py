"""Which physical GPUs this machine offers to notebooks: NVML, then nvidia-smi, then config."""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Sequence

from .slices import GpuDevice

log = logging.getLogger(__name__)


def load_gpus_nvml() -> list[GpuDevice] | None:
    """GPUs as NVML reports them, or None when NVML (the driver) is not there."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        return None
    try:
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(h)
            mem = pynvml.nvmlDeviceGetMemoryInfo(h).total // (1024 * 1024)
            uuid = pynvml.nvmlDeviceGetUUID(h)
            gpus.append(GpuDevice(i, name if isinstance(name, str) else name.decode(), int(mem),
                                  uuid if isinstance(uuid, str) else uuid.decode()))
        return gpus
    finally:
        pynvml.nvmlShutdown()


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
    return parse_smi_csv(out)


def parse_smi_csv(text: str) -> list[GpuDevice]:
    gpus = []
    for line in text.strip().splitlines():
        idx, name, mem, uuid = (x.strip() for x in line.split(","))
        gpus.append(GpuDevice(int(idx), name, int(float(mem)), uuid))
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
