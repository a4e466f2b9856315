"""Tests of arenahub.spawner.metrics (slice gauges, spawn counters) and per-profile kernel culling."""

import pytest
from prometheus_client import CollectorRegistry

from arenahub.core.profiles import Profile, ProfileError, validate_profiles
from arenahub.spawner.metrics import PoolView, ensure_hub_metrics, make_pool_gauges

pytestmark = pytest.mark.unit


def test_slices_are_summed_per_gpu_and_running_servers_per_profile():
    gauges = make_pool_gauges(PoolView(gpu_indices=[0, 1], slices=[(0, 0.25), (0, 0.5), (1, 1.0)],
                                       server_profiles={"ada/": "gpu-quarter", "bob/": "gpu-half", "cy/": "cpu"}))
    assert gauges["arenahub_gpu_slice_allocated_ratio"] == {("0",): 0.75, ("1",): 1.0}
    assert gauges["arenahub_gpu_slice_free_ratio"] == {("0",): 0.25, ("1",): 0.0}
    assert gauges["arenahub_gpu_slices"] == {("0",): 2, ("1",): 1}
    assert gauges["arenahub_running_servers"] == {("gpu-quarter",): 1, ("gpu-half",): 1, ("cpu",): 1}


def test_spawns_failures_and_the_pool_are_exposed_once_per_registry():
    registry = CollectorRegistry()
    metrics = ensure_hub_metrics(registry)
    assert ensure_hub_metrics(registry) is metrics
    metrics.ensure_pool_collector(lambda: PoolView([0], [(0, 0.25)], {"ada/": "gpu-quarter"}))
    metrics.ensure_pool_collector(lambda: PoolView())  # the first reader stays
    metrics.spawn_succeeded("gpu-quarter", 1.5)
    metrics.spawn_failed("gpu-whole", "no-slice-free")
    metrics.spawn_failed("gpu-whole", "something odd")
    get = registry.get_sample_value
    assert get("arenahub_spawns_total", {"profile": "gpu-quarter", "result": "ok"}) == 1
    assert get("arenahub_spawns_total", {"profile": "gpu-whole", "result": "failed"}) == 2
    assert get("arenahub_spawn_failures_total", {"profile": "gpu-whole", "reason": "error"}) == 1
    assert get("arenahub_spawn_duration_seconds_bucket", {"profile": "gpu-quarter", "le": "2.0"}) == 1
    assert get("arenahub_gpu_slice_free_ratio", {"gpu": "0"}) == 0.75


@pytest.mark.parametrize("profile, idle_s, connected", [
    (Profile("g", "GPU", gpu_fraction=0.25), 900, True),
    (Profile("c", "CPU"), 3600, False),
    (Profile("g", "GPU", gpu_fraction=1, kernel_idle_timeout_s=300, kernel_cull_connected=False), 300, False),
])
def test_kernel_culling_defaults_are_shorter_on_gpu_profiles(profile, idle_s, connected):
    culling = profile.kernel_culling()
    assert (culling.idle_timeout_s, culling.cull_connected, culling.cull_busy) == (idle_s, connected, False)
    assert f"--MappingKernelManager.cull_idle_timeout={idle_s}" in culling.server_args()


def test_a_zero_kernel_timeout_turns_kernel_culling_off():
    assert Profile("g", "GPU", gpu_fraction=0.5, kernel_idle_timeout_s=0).kernel_culling().server_args() == []


def test_a_negative_kernel_timeout_is_refused_with_the_profile_named():
    with pytest.raises(ProfileError, match=r"profiles\[0\] \('g'\): kernel_idle_timeout_s must be 0 or more"):
        validate_profiles([Profile("g", "GPU", gpu_fraction=0.5, kernel_idle_timeout_s=-5)])
