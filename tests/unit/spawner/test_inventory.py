"""GPU discovery for notebooks: nvidia-smi's CSV and NVML's readings turned into the GPU inventory."""

import pytest

from arenahub.spawner.inventory import discover_gpus, make_nvml_gpu, parse_smi_csv
from arenahub.spawner.slices import GpuDevice

pytestmark = pytest.mark.unit

# `nvidia-smi --query-gpu=index,name,memory.total,uuid --format=csv` as an 8 x H100 80GB host prints it
# (two of its eight lines kept); the UUIDs are shortened.
SMI_CSV = """\
index, name, memory.total [MiB], uuid
0, NVIDIA H100 80GB HBM3, 81559 MiB, GPU-5c4b1e0a-7a36-0f5e-9c1d-0b8d2f1e6a01
1, NVIDIA H100 80GB HBM3, 81559 MiB, GPU-0d9e33f2-1b7c-4e84-a5f0-2c6e4d9b7a12
"""
# The same query as the spawner runs it: --format=csv,noheader,nounits
SMI_BARE = """\
0, NVIDIA A100-SXM4-40GB, 40960, GPU-aa11
1, Tesla T4, 15360, GPU-bb22

"""


def test_nvidia_smi_csv_with_header_and_units_gives_each_gpu_its_index_name_memory_and_uuid():
    assert parse_smi_csv(SMI_CSV) == [
        GpuDevice(0, "NVIDIA H100 80GB HBM3", 81559, "GPU-5c4b1e0a-7a36-0f5e-9c1d-0b8d2f1e6a01"),
        GpuDevice(1, "NVIDIA H100 80GB HBM3", 81559, "GPU-0d9e33f2-1b7c-4e84-a5f0-2c6e4d9b7a12"),
    ]


def test_nvidia_smi_csv_without_header_or_units_is_read_the_same_way():
    assert parse_smi_csv(SMI_BARE) == [GpuDevice(0, "NVIDIA A100-SXM4-40GB", 40960, "GPU-aa11"),
                                       GpuDevice(1, "Tesla T4", 15360, "GPU-bb22")]


def test_no_gpus_gives_an_empty_inventory():
    assert parse_smi_csv("") == [] and parse_smi_csv("index, name, memory.total [MiB], uuid\n") == []


@pytest.mark.parametrize("line, problem", [
    ("0, NVIDIA H100 80GB HBM3, [N/A], GPU-1", "no numeric index and memory in MiB"),
    ("0, NVIDIA H100 80GB HBM3, 81559 MiB", "has 3 fields, expected index, name, memory, uuid"),
    ("No devices were found, x, y, z", "no numeric index"),
])
def test_a_line_nvidia_smi_did_not_fill_is_refused_with_the_line_named(line, problem):
    with pytest.raises(ValueError, match=problem) as refused:
        parse_smi_csv(line)
    assert line in str(refused.value)


@pytest.mark.parametrize("name, total_bytes, uuid, expected", [
    # nvidia-ml-py >= 11.515 returns str; older releases bytes
    ("NVIDIA H100 80GB HBM3", 85520809984, "GPU-5c4b", GpuDevice(3, "NVIDIA H100 80GB HBM3", 81559, "GPU-5c4b")),
    (b"Tesla T4", 16106127360, b"GPU-bb22", GpuDevice(3, "Tesla T4", 15360, "GPU-bb22")),
    ("NVIDIA A10G", 23028 * 2**20 + 1000, "GPU-a10g", GpuDevice(3, "NVIDIA A10G", 23028, "GPU-a10g")),
])
def test_nvml_readings_become_a_gpu_with_memory_in_whole_mib(name, total_bytes, uuid, expected):
    assert make_nvml_gpu(3, name, total_bytes, uuid) == expected


def test_a_configured_inventory_wins_over_the_hardware_and_fills_defaults():
    gpus, source = discover_gpus([{"index": 2, "name": "FakeGPU", "mem_mib": 16000}, {}])
    assert source == "config"
    assert gpus == [GpuDevice(2, "FakeGPU", 16000, ""), GpuDevice(1, "GPU", 81559, "")]


def test_an_empty_configured_inventory_keeps_every_gpu_away_from_notebooks():
    assert discover_gpus([]) == ([], "config")
