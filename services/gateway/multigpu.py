"""The environment a multi-GPU job gets for single-node ``torchrun`` / ``torch.distributed`` (pure)."""

from __future__ import annotations

# Every sandbox has its own network namespace with only loopback in it, so one fixed rendezvous
# port never collides between jobs.
MASTER_ADDR = "127.0.0.1"
MASTER_PORT = 29500


def make_torchrun_env(gpus: int) -> dict[str, str]:
    """Variables for a job on ``gpus`` whole GPUs of one node; {} for a CPU-only job.

    ``torchrun train.py`` then starts one worker per GPU with no arguments: torchrun reads its
    options from ``PET_*`` variables (torch.distributed.run). Scripts that start their own
    workers read ``NPROC_PER_NODE``/``LOCAL_WORLD_SIZE`` and rendezvous at ``MASTER_ADDR:MASTER_PORT``.
    CUDA_VISIBLE_DEVICES (set by the executor) names the same ``gpus`` devices.
    """
    if gpus <= 0:
        return {}
    n = str(gpus)
    return {
        "NPROC_PER_NODE": n,
        "LOCAL_WORLD_SIZE": n,
        "NNODES": "1",
        "MASTER_ADDR": MASTER_ADDR,
        "MASTER_PORT": str(MASTER_PORT),
        "PET_NNODES": "1",
        "PET_NPROC_PER_NODE": n,
        "PET_MASTER_ADDR": MASTER_ADDR,
        "PET_MASTER_PORT": str(MASTER_PORT),
    }
