"""Settings of the gateway's GPU sampler (the ``ARENAHUB_GATEWAY_GPU_SAMPLER__*`` group)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class GpuSamplerSettings(BaseModel):
    """How often NVML is read and whether the sampler runs at all."""

    enabled: bool = Field(True, description="Read NVML and attribute GPU use; without a driver it reports none "
                          "and says why. Turn off only to save the NVML calls.")
    interval_s: float = Field(10.0, gt=0, description="Seconds between samples; each sample is one line per "
                              "GPU holder in <state_dir>/gpu-samples/<day>.jsonl.")
