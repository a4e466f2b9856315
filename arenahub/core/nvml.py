"""NVML (the NVIDIA driver's management library) opened for one block of readings, or None without a driver."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType


@contextmanager
def nvml_session() -> Iterator[ModuleType | None]:
    """``pynvml``, initialised for the ``with`` block and shut down after it; None when the
    nvidia-ml-py package or the NVIDIA driver is missing (a machine without GPUs)."""
    try:
        import pynvml
    except ImportError:
        yield None
        return
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        yield None
        return
    try:
        yield pynvml
    finally:
        pynvml.nvmlShutdown()
