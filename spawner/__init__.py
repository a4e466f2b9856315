"""Spawners of arenahub: local sandboxed notebooks on GPU slices (and, on Kubernetes, pods).

Names are loaded on first use, so ``python -m arenahub.spawner.singleuser`` (run inside every
notebook sandbox) does not pay for importing the hub-side spawner code.
"""

__all__ = ["VGPULocalSpawner"]


def __getattr__(name: str):
    if name == "VGPULocalSpawner":
        from .local import VGPULocalSpawner

        return VGPULocalSpawner
    raise AttributeError(name)
