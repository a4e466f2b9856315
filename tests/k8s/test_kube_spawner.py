"""VGPUKubeSpawner through a real hub and proxy against the real coding control plane.

One hub for the module, on a node pool of its own (one fake machine with one H100 advertised
under every sharing backend), so capacity is known exactly. A real jupyter-server answers at
alice's pod IP; other pods get a stand-in responder (see podservers.py).
"""

from __future__ import annotations

import http.server
import json
import os
import threading
import secrets
from typing import Any, Iterator

import httpx
import pytest
from kubernetes import client as k8s

from tests.k8s.cleanup import remove_test_namespace
from tests.k8s.harness import ControlPlane, GpuNodeShape, build_coding_nodes
from tests.k8s.podservers import PodServers, ensure_home_volume, wait_for
from tests.support.hub import RunningHub

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(240)]

PROFILES: list[dict[str, Any]] = [
    {"slug": "hami-quarter", "display_name": "0.25 GPU (HAMi)", "gpu_fraction": 0.25, "mem_gib": 8, "cpu": 1,
     "default": True, "extra": {"gpu_backend": "hami"}},
    {"slug": "gm-quarter", "display_name": "0.25 GPU (GPUManager)", "gpu_fraction": 0.25, "mem_gib": 8, "cpu": 1,
     "extra": {"gpu_backend": "gpumanager"}},
    {"slug": "ts-quarter", "display_name": "0.25 GPU (time-slicing)", "gpu_fraction": 0.25, "mem_gib": 8, "cpu": 1,
     "extra": {"gpu_backend": "nvidia-timeslicing"}},
    {"slug": "mps-quarter", "display_name": "0.25 GPU (MPS)", "gpu_fraction": 0.25, "mem_gib": 8, "cpu": 1,
     "extra": {"gpu_backend": "nvidia-mps"}},
    {"slug": "mig-small", "display_name": "1/8 GPU (MIG)", "gpu_fraction": 0.125, "mem_gib": 8, "cpu": 1,
     "extra": {"gpu_backend": "mig"}},
    {"slug": "whole", "display_name": "1 GPU", "gpu_fraction": 1.0, "mem_gib": 32, "cpu": 4,
     "extra": {"gpu_backend": "whole"}},
    {"slug": "gm-whole", "display_name": "1 GPU (GPUManager)", "gpu_fraction": 1.0, "mem_gib": 32, "cpu": 4,
     "extra": {"gpu_backend": "gpumanager"}},
    {"slug": "cpu", "display_name": "CPU only", "gpu_fraction": 0.0, "mem_gib": 4, "cpu": 1},
    {"slug": "hami-half", "display_name": "0.5 GPU (HAMi)", "gpu_fraction": 0.5, "mem_gib": 16, "cpu": 2},
]

EXPECTED_GPU = {
    "hami-quarter": {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "20480", "nvidia.com/gpucores": "25"},
    "gm-quarter": {"tencent.com/vcuda-core": "25", "tencent.com/vcuda-memory": "80"},
    "ts-quarter": {"nvidia.com/gpu.shared": "1"},
    "mps-quarter": {"nvidia.com/gpu.shared": "1"},
    "mig-small": {"nvidia.com/mig-1g.10gb": "1"},
    "whole": {"nvidia.com/gpu": "1"},
    "cpu": {},
}

USERS = ["alice", "over-quota", "cap-1", "cap-2"] + [f"u-{slug}" for slug in EXPECTED_GPU]

HUB_CONFIG = """
c.JupyterHub.spawner_class = "arenahub.spawner.kube.VGPUKubeSpawner"
c.VGPUKubeSpawner.namespace = {namespace!r}
c.VGPUKubeSpawner.image = "registry.invalid/arenahub/notebook:test"
c.VGPUKubeSpawner.profiles = {profiles!r}
c.VGPUKubeSpawner.coding_pool_selector = {{"arenahub.io/pool": {pool!r}}}
c.VGPUKubeSpawner.coding_pool_tolerations = [{{"key": "arenahub.io/pool", "operator": "Equal", "value": {pool!r}, "effect": "NoSchedule"}}]
c.VGPUKubeSpawner.unschedulable_timeout_s = 3
c.VGPUKubeSpawner.start_timeout = 90
c.VGPUKubeSpawner.http_timeout = 90
c.JupyterHub.tornado_settings = {{"slow_spawn_timeout": 0}}  # POST returns at once: progress shows every event

from arenahub.hub_config.quota_hook import SpawnQuotaCheck
c.Spawner.pre_spawn_hook = SpawnQuotaCheck({gateway_url!r})  # the hook the embedded hub uses
"""


class QuotaGateway(http.server.BaseHTTPRequestHandler):
    """Stands in for the gateway's /quota/spawn-check: every 0.5 GPU notebook is over budget."""

    def do_GET(self) -> None:
        over = "gpu_fraction=0.5" in self.path
        body = json.dumps({"error": "quota-weekly", "message": QUOTA_MESSAGE} if over else {"ok": True}).encode()
        self.send_response(429 if over else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


QUOTA_MESSAGE = "This notebook needs 0.5 GPU; you have 0 GPU-hours left this week (resets Monday 00:00 UTC)."


@pytest.fixture(scope="module")
def kube_hub(coding_cluster: ControlPlane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    pool = f"nb-{secrets.token_hex(3)}"
    namespace = f"hub-{pool}"
    taint = {"key": "arenahub.io/pool", "value": pool, "effect": "NoSchedule"}
    backends = ("hami", "gpumanager", "nvidia-timeslicing", "mig")
    nodes = coding_cluster.create_nodes(build_coding_nodes(
        1, shape=GpuNodeShape(gpus=1), backends=backends, name_prefix=pool, pool=pool, taints=[taint]))
    coding_cluster.ensure_namespace(namespace)
    api = coding_cluster.api_client()
    core = k8s.CoreV1Api(api)
    for user in USERS:
        ensure_home_volume(core, namespace, f"claim-{user}")
    servers = PodServers(api, namespace, real_users={"alice"}).start()
    gateway = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuotaGateway)
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    old_kubeconfig = os.environ.get("KUBECONFIG")
    os.environ["KUBECONFIG"] = str(coding_cluster.kubeconfig)
    hub = RunningHub(tmp_path_factory.mktemp("kubehub"), extra_config=HUB_CONFIG.format(
        namespace=namespace, profiles=PROFILES, pool=pool,
        gateway_url=f"http://127.0.0.1:{gateway.server_address[1]}"))
    try:
        hub.start()
        yield {"hub": hub, "namespace": namespace, "pool": pool, "core": core, "servers": servers}
    finally:
        hub.stop()
        servers.stop()
        gateway.shutdown()
        gateway.server_close()
        remove_test_namespace(core, namespace, nodes, old_kubeconfig)
        api.close()


def spawn(hub: RunningHub, user: str, profile: str) -> list[dict[str, Any]]:
    """Ask for ``user``'s server with ``profile`` and follow the progress stream to its end."""
    hub.user_token(user)
    with hub.api() as api:
        r = api.post(f"/users/{user}/server", json={"profile": profile})
        assert r.status_code in (201, 202), r.text
        events = []
        with api.stream("GET", f"/users/{user}/server/progress") as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        return events


def stop(hub: RunningHub, user: str) -> None:
    with hub.api() as api:
        r = api.delete(f"/users/{user}/server")
        assert r.status_code in (202, 204), r.text
    hub.wait_stopped(user)


def pod_of(core: k8s.CoreV1Api, namespace: str, user: str) -> Any:
    return core.read_namespaced_pod(f"jupyter-{user}", namespace)


def test_a_participant_reaches_a_real_jupyter_server_in_a_kube_pod_through_the_proxy_and_keeps_the_pvc(kube_hub):
    hub, core, namespace = kube_hub["hub"], kube_hub["core"], kube_hub["namespace"]
    events = spawn(hub, "alice", "hami-quarter")
    assert events[-1].get("ready"), events
    assert any("A GPU slice is reserved for you on" in e.get("message", "") for e in events), events
    pod = pod_of(core, namespace, "alice")
    assert pod.status.phase == "Running" and pod.status.pod_ip.startswith("127.20.")
    token = hub.user_token("alice")
    status = httpx.get(f"{hub.url}/user/alice/api/status", headers={"Authorization": f"token {token}"}, timeout=30)
    assert status.status_code == 200, status.text
    assert "last_activity" in status.json()  # jupyter-server's own answer, not the stand-in's
    claim = core.read_namespaced_persistent_volume_claim("claim-alice", namespace)

    stop(hub, "alice")
    wait_for("alice's pod to go", lambda: not core.list_namespaced_pod(
        namespace, field_selector="metadata.name=jupyter-alice").items)
    kept = core.read_namespaced_persistent_volume_claim("claim-alice", namespace)
    assert kept.metadata.uid == claim.metadata.uid and kept.status.phase == "Bound"

    assert spawn(hub, "alice", "hami-quarter")[-1].get("ready")
    volumes = {v.name: v for v in pod_of(core, namespace, "alice").spec.volumes}
    assert volumes["home"].persistent_volume_claim.claim_name == "claim-alice"
    assert core.read_namespaced_persistent_volume_claim("claim-alice", namespace).metadata.uid == claim.metadata.uid
    stop(hub, "alice")


@pytest.mark.parametrize("profile", list(EXPECTED_GPU))
def test_each_backend_asks_for_exactly_its_slice_resources_and_the_scheduler_binds_it(kube_hub, profile):
    hub, core, namespace, pool = kube_hub["hub"], kube_hub["core"], kube_hub["namespace"], kube_hub["pool"]
    user = f"u-{profile}"
    assert spawn(hub, user, profile)[-1].get("ready")
    pod = pod_of(core, namespace, user)
    stop(hub, user)
    limits = pod.spec.containers[0].resources.limits
    extended = {k: v for k, v in limits.items() if k not in ("cpu", "memory")}
    assert extended == EXPECTED_GPU[profile]
    assert pod.spec.containers[0].resources.requests.items() >= extended.items()
    assert pod.spec.node_selector == {"arenahub.io/pool": pool}
    assert {"key": "arenahub.io/pool", "value": pool} in [{"key": t.key, "value": t.value} for t in pod.spec.tolerations]
    assert any(t.key == "nvidia.com/gpu" for t in pod.spec.tolerations) == bool(EXPECTED_GPU[profile])
    assert pod.spec.node_name == f"{pool}-0"
    mounts = {m.name: m.mount_path for m in pod.spec.containers[0].volume_mounts}
    assert mounts["home"] == "/home/jovyan"
    env = {e.name: e.value for e in pod.spec.containers[0].env}
    assert env["ARENAHUB_PROFILE"] == profile


def test_when_no_slice_is_free_the_spawn_fails_saying_so_and_leaves_no_pod(kube_hub):
    hub, core, namespace = kube_hub["hub"], kube_hub["core"], kube_hub["namespace"]
    assert spawn(hub, "cap-1", "gm-whole")[-1].get("ready")  # takes the pool's only GPU (vcuda-core 100)
    try:
        events = spawn(hub, "cap-2", "gm-whole")
    finally:
        stop(hub, "cap-1")
    final = events[-1]
    assert final.get("failed"), events
    assert "No GPU slice free for 1 GPU (GPUManager)" in final["message"]
    assert "tencent.com/vcuda-core" in final["message"]
    assert any("Waiting for a free GPU slice" in e.get("message", "") for e in events)
    wait_for("cap-2's pod to be deleted", lambda: not core.list_namespaced_pod(
        namespace, field_selector="metadata.name=jupyter-cap-2").items)
    with hub.api() as api:
        assert api.get("/users/cap-2").json()["servers"] == {}


def test_the_quota_pre_spawn_hook_refuses_a_notebook_over_budget_before_any_pod_is_made(kube_hub):
    hub, core, namespace = kube_hub["hub"], kube_hub["core"], kube_hub["namespace"]
    final = spawn(hub, "over-quota", "hami-half")[-1]
    assert final.get("failed")
    assert QUOTA_MESSAGE in final["message"]
    assert not core.list_namespaced_pod(namespace, field_selector="metadata.name=jupyter-over-quota").items


def test_an_unknown_profile_is_refused_with_the_valid_choices(kube_hub):
    hub = kube_hub["hub"]
    hub.user_token("u-cpu")
    with hub.api() as api:
        r = api.post("/users/u-cpu/server", json={"profile": "gpu-huge"})
    assert r.status_code == 400
    assert r.json()["message"].startswith("No profile 'gpu-huge'. Available: hami-quarter, gm-quarter")


def test_notebook_pods_get_a_network_policy_that_allows_only_hub_proxy_and_dns(kube_hub, coding_cluster: ControlPlane):
    namespace = kube_hub["namespace"]
    with coding_cluster.api_client() as api:
        policy = k8s.NetworkingV1Api(api).read_namespaced_network_policy("arenahub-notebooks", namespace)
    assert policy.spec.pod_selector.match_labels == {"component": "singleuser-server"}
    assert sorted(policy.spec.policy_types) == ["Egress", "Ingress"]
    peers = [p.pod_selector.match_labels for rule in policy.spec.egress for p in rule.to]
    assert peers == [{"component": "hub"}, {"component": "proxy"}, {"k8s-app": "kube-dns"}]
    ports = sorted(port.port for rule in policy.spec.egress for port in rule.ports)
    assert ports == [53, 53, 8000, 8081]
    assert [p.pod_selector.match_labels for p in policy.spec.ingress[0]._from] == [
        {"component": "hub"}, {"component": "proxy"}]
