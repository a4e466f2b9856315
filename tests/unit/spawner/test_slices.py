import pytest

from arenahub.spawner.slices import GpuDevice, NoSliceFree, Slice, free_fraction, place_slice

pytestmark = pytest.mark.unit
GPUS = [GpuDevice(0, mem_mib=16000), GpuDevice(1, mem_mib=16000)]


def place_all(fractions):
    held = {}
    for i, f in enumerate(fractions):
        held[f"s{i}"] = place_slice(f, GPUS, held)
    return held


def test_quarters_fill_one_gpu_before_the_next():
    held = place_all([0.25] * 5)
    assert [s.gpu_index for s in held.values()] == [0, 0, 0, 0, 1]


def test_binpack_prefers_the_fullest_gpu_that_fits():
    held = {"a": Slice(0, 0.5, 8000), "b": Slice(1, 0.75, 12000)}
    assert place_slice(0.25, GPUS, held).gpu_index == 1
    assert place_slice(0.5, GPUS, held).gpu_index == 0


def test_a_gpu_is_never_filled_past_one_hundred_percent():
    held = place_all([0.5, 0.5, 0.5, 0.5])
    with pytest.raises(NoSliceFree, match=r"no 0.5 GPU slice free: 2/2 GPUs full"):
        place_slice(0.5, GPUS, held)


def test_partly_free_gpus_are_named_in_the_refusal():
    held = place_all([0.75, 0.75])
    with pytest.raises(NoSliceFree, match="0/2 GPUs full, the others have less than that left"):
        place_slice(0.5, GPUS, held)


def test_no_gpus_at_all_says_so():
    with pytest.raises(NoSliceFree, match="offers no GPUs"):
        place_slice(0.25, [], {})


def test_slice_memory_limit_and_mps_environment():
    s = place_slice(0.25, GPUS, {})
    assert s.mem_limit_mib == 4000
    assert s.cuda_env() == {"CUDA_VISIBLE_DEVICES": "0", "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE": "25",
                            "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT": "0=4000M", "ARENAHUB_GPU_FRACTION": "0.25"}


def test_free_fraction_reports_each_gpu():
    assert free_fraction(GPUS, place_all([0.25, 0.5])) == {0: 0.25, 1: 1.0}
