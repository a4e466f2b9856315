"""The GPU sampler on real hardware: NVML figures against a known load (skipped without an NVIDIA GPU)."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from arenahub.gateway.gpumon import GIB, Owner, attribute_usage, make_slice_status
from arenahub.gateway.gpumon_nvml import NvmlReader, read_parents

pytestmark = pytest.mark.gpu

LOAD = """
import sys, time, torch
x = torch.empty(int(sys.argv[1]) * 2**30 // 4, dtype=torch.float32, device="cuda")
a = torch.randn(8192, 8192, device="cuda")
print("ready", flush=True)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    a = a @ a
    a = a / a.norm()
torch.cuda.synchronize()
"""


@pytest.fixture(scope="module")
def reader():
    nvml = NvmlReader()
    if not nvml.available:
        pytest.skip("no NVIDIA GPU or driver on this machine")
    yield nvml
    nvml.close()


def test_every_gpu_reports_memory_and_a_busy_percentage(reader):
    snapshot = reader.read(time.time())
    assert snapshot.has_gpus
    for gpu in snapshot.gpus:
        assert gpu.mem_total_bytes > 1 * GIB and 0 <= gpu.mem_used_bytes <= gpu.mem_total_bytes
        assert gpu.util_pct is None or 0 <= gpu.util_pct <= 100


def test_a_known_load_is_seen_busy_with_its_memory_and_attributed_to_its_owner(reader):
    pytest.importorskip("torch")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES", "0")}
    load = subprocess.Popen([sys.executable, "-c", LOAD, "4", "20"], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert load.stdout.readline().strip() == "ready"
        time.sleep(3)
        reader.read(time.time())  # the first per-process read empties the driver's sample buffer
        time.sleep(2)
        snapshot = reader.read(time.time())
        me = Owner("job", "gpu-test", "tester", root_pid=os.getpid(), gpu_fraction=1.0, gpu_indices=(0,))
        usages, _ = attribute_usage(snapshot, read_parents(), [me])
        (mine,) = usages
        assert mine.mem_used_bytes >= 4 * GIB  # the 4 GiB tensor plus the CUDA context
        assert mine.util_ratio is not None and mine.util_ratio > 0.5  # a matmul loop keeps the GPU busy
        assert snapshot.gpus[mine.gpu_index].util_pct > 50
        assert make_slice_status(me, usages, gpus=snapshot.gpus).message.startswith("job gpu-test: ")
    finally:
        load.kill()
        load.wait(30)


def test_nvidia_smi_and_nvml_agree_on_the_number_of_gpus(reader):
    smi = shutil.which("nvidia-smi")
    if smi is None:
        pytest.skip("nvidia-smi is not installed")
    listed = subprocess.run([smi, "-L"], capture_output=True, text=True, check=True).stdout.strip().splitlines()
    assert len(reader.read(time.time()).gpus) == len(listed)
