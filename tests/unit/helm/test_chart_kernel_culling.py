"""The coding chart's per-profile kernel culling: accepted by the schema, carried to the hub config, and
given by VGPUKubeSpawner to each notebook server as jupyter-server's ``--MappingKernelManager.cull_*``."""

from __future__ import annotations

import pytest
import yaml

from tests.unit.helm.charts import CODING_CHART, HelmFailed, ValuesSet, helm_binary, only, render
from tests.unit.helm.spawners import spawner_from_rendered_chart

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]

CULL = "--MappingKernelManager.cull_"
PROFILES = [
    {"slug": "cpu", "display_name": "CPU only", "gpu_fraction": 0, "mem_gib": 4, "cpu": 1},
    {"slug": "gpu-quarter", "display_name": "0.25 GPU", "gpu_fraction": 0.25, "mem_gib": 8, "cpu": 1, "default": True,
     "kernel_idle_timeout_s": 600, "kernel_cull_interval_s": 30, "kernel_cull_connected": False,
     "kernel_cull_busy": True},
    {"slug": "gpu-half", "display_name": "0.5 GPU", "gpu_fraction": 0.5, "mem_gib": 16, "cpu": 2,
     "kernel_idle_timeout_s": 0},
    {"slug": "gpu-whole", "display_name": "1 GPU", "gpu_fraction": 1, "mem_gib": 32, "cpu": 4,
     "kernel_idle_timeout_s": None, "kernel_cull_connected": None},
]
VALUES = {"singleuser": {"profileList": PROFILES}}


async def _server_command(tmp_path, monkeypatch, slug: str, **spawner_traits) -> list[str]:
    """The notebook container's command line for a spawn of profile ``slug`` (image ENTRYPOINT aside)."""
    spawner = spawner_from_rendered_chart(tmp_path, monkeypatch, VALUES, user_options={"profile": slug},
                                          **spawner_traits)
    await spawner.load_user_options()
    pod = await spawner.get_pod_manifest()
    return pod.spec.containers[0].args


def _culling(command: list[str]) -> dict[str, str]:
    return dict(arg.removeprefix(CULL).split("=", 1) for arg in command if arg.startswith(CULL))


def test_the_kernel_culling_fields_reach_the_spawner_profiles_in_the_rendered_hub_config():
    objects = render(ValuesSet("kernel-culling", CODING_CHART, VALUES))
    configmap = only(objects, "ConfigMap", "arena-arenahub-coding-hub")
    hub_values = yaml.safe_load(configmap["data"]["values.yaml"])["values"]  # what jupyterhub_config.py reads
    rendered = {p["slug"]: p for p in hub_values["singleuser"]["profileList"]}
    assert {k: v for k, v in rendered["gpu-quarter"].items() if k.startswith("kernel_")} == {
        "kernel_idle_timeout_s": 600, "kernel_cull_interval_s": 30, "kernel_cull_connected": False,
        "kernel_cull_busy": True}
    assert rendered["gpu-half"]["kernel_idle_timeout_s"] == 0


async def test_a_profile_kernel_culling_fields_become_the_servers_cull_options(tmp_path, monkeypatch,
                                                                               kube_client_settings):
    command = await _server_command(tmp_path, monkeypatch, "gpu-quarter")
    assert command[:3] == ["python3", "-m", "arenahub.spawner.singleuser"]  # the notebook image's own CMD
    assert _culling(command) == {"idle_timeout": "600", "interval": "30", "connected": "False", "busy": "True"}


@pytest.mark.parametrize("slug, culling", [
    ("gpu-whole", {"idle_timeout": "900", "interval": "60", "connected": "True", "busy": "False"}),  # GPU: 15 min
    ("cpu", {"idle_timeout": "3600", "interval": "60", "connected": "False", "busy": "False"}),
])
async def test_absent_or_null_fields_get_the_embedded_hubs_defaults_for_the_profile_kind(
        tmp_path, monkeypatch, kube_client_settings, slug, culling):
    assert _culling(await _server_command(tmp_path, monkeypatch, slug)) == culling


async def test_a_zero_kernel_idle_timeout_turns_kernel_culling_off(tmp_path, monkeypatch, kube_client_settings):
    assert await _server_command(tmp_path, monkeypatch, "gpu-half") == ["python3", "-m", "arenahub.spawner.singleuser"]


async def test_the_operators_own_server_args_stay_in_front_and_a_second_spawn_does_not_repeat_the_options(
        tmp_path, monkeypatch, kube_client_settings):
    spawner = spawner_from_rendered_chart(tmp_path, monkeypatch, VALUES, user_options={"profile": "gpu-quarter"},
                                          args=["--ServerApp.shutdown_no_activity_timeout=0"])
    await spawner.load_user_options()
    spawner.user_options = {"profile": "gpu-whole"}
    await spawner.load_user_options()
    args = spawner.get_args()
    assert args[0] == "--ServerApp.shutdown_no_activity_timeout=0"
    assert _culling(args) == {"idle_timeout": "900", "interval": "60", "connected": "True", "busy": "False"}
    assert len(args) == 5


@pytest.mark.parametrize("profile_fields, message", [
    ({"kernel_idle_timeout_s": -1}, "at '/singleuser/profileList/0/kernel_idle_timeout_s': minimum: got -1, want 0"),
    ({"kernel_idle_timeout_s": "15m"}, "at '/singleuser/profileList/0/kernel_idle_timeout_s': got string, want"),
    ({"kernel_idle_timeout_s": 1.5}, "at '/singleuser/profileList/0/kernel_idle_timeout_s': got number, want"),
    ({"kernel_cull_interval_s": 0}, "at '/singleuser/profileList/0/kernel_cull_interval_s': minimum: got 0, want 1"),
    ({"kernel_cull_interval_s": None}, "at '/singleuser/profileList/0/kernel_cull_interval_s': got null, want integer"),
    ({"kernel_cull_connected": "yes"}, "at '/singleuser/profileList/0/kernel_cull_connected': got string, want"),
    ({"kernel_cull_busy": None}, "at '/singleuser/profileList/0/kernel_cull_busy': got null, want boolean"),
    ({"kernel_idle_timeout": 600},
     "at '/singleuser/profileList/0': additional properties 'kernel_idle_timeout' not allowed"),
], ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_a_bad_kernel_culling_value_is_refused_by_helm_template_naming_it(profile_fields, message):
    values = {"singleuser": {"profileList": [{"slug": "q", "display_name": "q", **profile_fields}]}}
    with pytest.raises(HelmFailed) as refused:
        render(ValuesSet("bad-kernel-culling", CODING_CHART, values))
    assert message in str(refused.value)
