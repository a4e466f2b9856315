"""GPU discovery on real hardware: NVML and nvidia-smi find the same GPUs (skipped without an NVIDIA GPU)."""

import pytest

from arenahub.spawner.inventory import discover_gpus, load_gpus_nvml, load_gpus_smi

pytestmark = pytest.mark.gpu


def test_nvml_and_nvidia_smi_report_the_same_gpus_and_discovery_prefers_nvml():
    nvml, smi = load_gpus_nvml(), load_gpus_smi()
    if not nvml or not smi:
        pytest.skip("no NVIDIA GPU, driver, nvidia-ml-py or nvidia-smi on this machine")
    assert nvml == smi
    assert all(g.mem_mib > 1000 and g.uuid.startswith(("GPU-", "MIG-")) for g in nvml)
    assert discover_gpus(None) == (nvml, "nvml")
