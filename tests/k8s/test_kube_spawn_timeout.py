"""The spawn timeout of VGPUKubeSpawner through a real hub: no slice free until start_timeout.

A hub of its own (start_timeout short, unschedulable_timeout_s = 0, so only the timeout can end
the wait) on a pool of one fake machine with one GPU under GPUManager: one user holds the GPU,
the next one's spawn must fail at the timeout with a message saying why, leave no pod behind
(it must not take the slice later, when nobody waits) and keep the user's home PVC.
"""

from __future__ import annotations

import os
import secrets
from typing import Any, Iterator

import pytest
from kubernetes import client as k8s

from tests.k8s.cleanup import remove_test_namespace
from tests.k8s.harness import ControlPlane, GpuNodeShape, build_coding_nodes
from tests.k8s.podservers import PodServers, ensure_home_volume, wait_for
from tests.k8s.test_kube_spawner import spawn, stop
from tests.support.hub import RunningHub

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]

START_TIMEOUT_S = 10
PROFILES: list[dict[str, Any]] = [
    {"slug": "gm-whole", "display_name": "1 GPU (GPUManager)", "gpu_fraction": 1.0, "mem_gib": 32, "cpu": 4,
     "default": True, "extra": {"gpu_backend": "gpumanager"}},
]
USERS = ("holder", "latecomer")

HUB_CONFIG = """
c.JupyterHub.spawner_class = "arenahub.spawner.kube.VGPUKubeSpawner"
c.VGPUKubeSpawner.namespace = {namespace!r}
c.VGPUKubeSpawner.image = "registry.invalid/arenahub/notebook:test"
c.VGPUKubeSpawner.profiles = {profiles!r}
c.VGPUKubeSpawner.coding_pool_selector = {{"arenahub.io/pool": {pool!r}}}
c.VGPUKubeSpawner.coding_pool_tolerations = [{{"key": "arenahub.io/pool", "operator": "Equal", "value": {pool!r}, "effect": "NoSchedule"}}]
c.VGPUKubeSpawner.unschedulable_timeout_s = 0  # wait for a slice until start_timeout
c.VGPUKubeSpawner.start_timeout = {start_timeout}
c.VGPUKubeSpawner.http_timeout = 60
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}
"""


@pytest.fixture(scope="module")
def timeout_hub(coding_cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pool = f"to-{secrets.token_hex(3)}"
    namespace = f"hub-{pool}"
    taint = {"key": "arenahub.io/pool", "value": pool, "effect": "NoSchedule"}
    nodes = coding_cluster.create_nodes(build_coding_nodes(
        1, shape=GpuNodeShape(gpus=1), backends=("gpumanager",), name_prefix=pool, pool=pool, taints=[taint]))
    coding_cluster.ensure_namespace(namespace)
    api = coding_cluster.api_client()
    core = k8s.CoreV1Api(api)
    for user in USERS:
        ensure_home_volume(core, namespace, f"claim-{user}")
    servers = PodServers(api, namespace).start()
    old_kubeconfig = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(coding_cluster.kubeconfig)
    hub = RunningHub(tmp_path_factory.mktemp("timeouthub"), extra_config=HUB_CONFIG.format(
        namespace=namespace, profiles=PROFILES, pool=pool, start_timeout=START_TIMEOUT_S))
    try:
        hub.start()
        yield {"hub": hub, "namespace": namespace, "core": core}
    finally:
        hub.stop()
        servers.stop()
        remove_test_namespace(core, namespace, nodes, old_kubeconfig)
        api.close()


def test_a_spawn_that_finds_no_free_slice_until_start_timeout_fails_saying_why_and_keeps_only_the_pvc(timeout_hub):
    hub, core, namespace = timeout_hub["hub"], timeout_hub["core"], timeout_hub["namespace"]
    assert spawn(hub, "holder", "gm-whole")[-1].get("ready")  # takes the pool's only GPU
    try:
        events = spawn(hub, "latecomer", "gm-whole")
        pod_gone = wait_for("the latecomer's pod to be deleted", lambda: not core.list_namespaced_pod(
            namespace, field_selector="metadata.name=jupyter-latecomer").items, timeout_s=30)
    finally:
        stop(hub, "holder")
    final = events[-1]
    assert final.get("failed"), events
    assert (f"Your server did not start within {START_TIMEOUT_S} s: No GPU slice free for 1 GPU (GPUManager)"
            in final["message"]), final
    assert "tencent.com/vcuda-core" in final["message"] and "Try again later" in final["message"]
    assert pod_gone
    with hub.api() as api:
        assert api.get("/users/latecomer").json()["servers"] == {}
    kept = core.read_namespaced_persistent_volume_claim("claim-latecomer", namespace)  # made by the spawn
    assert kept.status.phase == "Bound" and kept.metadata.deletion_timestamp is None
