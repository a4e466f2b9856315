"""GPU monitoring, I/O part: reads NVML (nvidia-ml-py) and the ``/proc`` process tree into plain readings."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import ModuleType
from typing import Any

from arenahub.gateway.gpumon import GpuReading, NvmlSnapshot, ProcessReading

log = logging.getLogger(__name__)


class NvmlReader:
    """Opens NVML once and reads a snapshot per call; without a driver every snapshot says why it is empty."""

    def __init__(self) -> None:
        self._nvml: ModuleType | None = None
        self._error = ""
        self._last_seen_us: dict[int, int] = {}
        try:
            import pynvml
        except ImportError:
            self._error = "the nvidia-ml-py package is not installed"
            return
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            self._error = f"NVML could not start ({exc}); is the NVIDIA driver installed?"
            return
        self._nvml = pynvml

    @property
    def available(self) -> bool:
        """True when NVML started."""
        return self._nvml is not None

    def read(self, now: float) -> NvmlSnapshot:
        """Utilisation and memory of every GPU and of every process on it, as seen at ``now``."""
        nvml = self._nvml
        if nvml is None:
            return NvmlSnapshot(taken_at=now, error=self._error)
        try:
            gpus: list[GpuReading] = []
            procs: list[ProcessReading] = []
            for index in range(nvml.nvmlDeviceGetCount()):
                handle = nvml.nvmlDeviceGetHandleByIndex(index)
                gpus.append(_read_gpu(nvml, handle, index))
                procs.extend(self._read_processes(nvml, handle, index))
            return NvmlSnapshot(taken_at=now, gpus=tuple(gpus), processes=tuple(procs))
        except nvml.NVMLError as exc:
            log.warning("Reading NVML failed: %s", exc)
            return NvmlSnapshot(taken_at=now, error=f"NVML failed while reading: {exc}")

    def _read_processes(self, nvml: Any, handle: Any, index: int) -> list[ProcessReading]:
        mem_by_pid: dict[int, int | None] = {}
        for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
            try:
                for p in getattr(nvml, getter)(handle):
                    used = p.usedGpuMemory
                    mem_by_pid[int(p.pid)] = None if used is None or used == getattr(nvml, "NVML_VALUE_NOT_AVAILABLE", -1) else int(used)
            except nvml.NVMLError:
                continue
        util_by_pid: dict[int, float] = {}
        try:
            # Samples since the last call (microseconds); the first call reads the driver's buffer.
            samples = nvml.nvmlDeviceGetProcessUtilization(handle, self._last_seen_us.get(index, 0))
            for sample in samples:
                util_by_pid[int(sample.pid)] = max(util_by_pid.get(int(sample.pid), 0.0), float(sample.smUtil))
                self._last_seen_us[index] = max(self._last_seen_us.get(index, 0), int(sample.timeStamp))
        except nvml.NVMLError:
            pass  # NOT_FOUND when no process ran since the last call; NOT_SUPPORTED on some boards
        return [ProcessReading(index, pid, mem, util_by_pid.get(pid)) for pid, mem in sorted(mem_by_pid.items())]

    def close(self) -> None:
        """Shut NVML down (safe to repeat)."""
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
            self._nvml = None


def _read_gpu(nvml: Any, handle: Any, index: int) -> GpuReading:
    mem = nvml.nvmlDeviceGetMemoryInfo(handle)
    try:
        util: float | None = float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except nvml.NVMLError:
        util = None
    name = nvml.nvmlDeviceGetName(handle)
    uuid = nvml.nvmlDeviceGetUUID(handle)
    return GpuReading(index=index, uuid=uuid if isinstance(uuid, str) else uuid.decode(),
                      name=name if isinstance(name, str) else name.decode(), util_pct=util,
                      mem_used_bytes=int(mem.used), mem_total_bytes=int(mem.total))


def read_parents(proc: Path = Path("/proc")) -> dict[int, int]:
    """Parent pid of every process visible in ``proc`` (processes that vanish while reading are skipped)."""
    parents: dict[int, int] = {}
    for entry in os.scandir(proc):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = parse_ppid(stat)
    return parents


def parse_ppid(stat: str) -> int:
    """The parent pid from a ``/proc/<pid>/stat`` line (the name in parentheses may hold spaces)."""
    return int(stat[stat.rindex(")") + 2:].split()[1])
