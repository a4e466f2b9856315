"""Where the coding chart's storage values end up: users' home PVCs and the gateway pod's extra volumes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes_asyncio.client import Configuration
from kubernetes_asyncio.config import kube_config
from kubespawner.clients import load_config
from traitlets.config import Config

from arenahub.spawner.kube import VGPUKubeSpawner
from tests.unit.helm.charts import CODING_CHART, ValuesSet, helm_binary, only, render
from tests.unit.helm.test_chart_hub_config import ENV

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
"""
DATASETS = {"gateway": {
    "extraVolumes": [{"name": "datasets", "persistentVolumeClaim": {"claimName": "arena-datasets", "readOnly": True}}],
    "extraVolumeMounts": [{"name": "datasets", "mountPath": "/srv/datasets", "readOnly": True}],
}}


@pytest.fixture
def kube_client_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """KubeSpawner loads a kubeconfig when made (it calls no API here); restore the global client settings after."""
    (tmp_path / "kubeconfig").write_text(KUBECONFIG)
    # read when kubernetes_asyncio is imported, so set where it keeps it
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", str(tmp_path / "kubeconfig"))
    saved = Configuration.get_default_copy()
    load_config.cache_clear()
    yield
    load_config.cache_clear()
    Configuration.set_default(saved)


def _spawner_from_rendered_chart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, values: dict) -> VGPUKubeSpawner:
    """A VGPUKubeSpawner configured by the hub config file the chart renders for ``values`` (in a running loop)."""
    configmap = only(render(ValuesSet("storage", CODING_CHART, values)), "ConfigMap", "arena-arenahub-coding-hub")
    folder = tmp_path / "hub"
    folder.mkdir()
    for name, text in configmap["data"].items():
        (folder / name).write_text(text)
    monkeypatch.setenv("ARENAHUB_CHART_VALUES", str(folder / "values.yaml"))
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the config file prepends its own folder
    monkeypatch.delitem(sys.modules, "chartconfig", raising=False)
    c = Config()
    path = folder / "jupyterhub_config.py"
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: c, "__file__": str(path)})
    return VGPUKubeSpawner(config=c, _mock=True)


async def test_user_storage_size_class_and_access_modes_reach_the_home_pvc(tmp_path, monkeypatch, kube_client_settings):
    values = {"singleuser": {"storage": {"type": "dynamic", "capacity": "50Gi", "homeMountPath": "/home/jovyan",
                                         "dynamic": {"storageClass": "fast-ssd",
                                                     "storageAccessModes": ["ReadWriteOncePod"]}}}}
    spawner = _spawner_from_rendered_chart(tmp_path, monkeypatch, values)
    assert (spawner.storage_pvc_ensure, spawner.storage_capacity, spawner.storage_class) == (True, "50Gi", "fast-ssd")
    pvc = spawner.get_pvc_manifest()
    assert pvc.spec.resources.requests == {"storage": "50Gi"}
    assert pvc.spec.storage_class_name == "fast-ssd"
    assert pvc.spec.access_modes == ["ReadWriteOncePod"]
    assert spawner.volume_mounts == [{"name": "home", "mountPath": "/home/jovyan"}]


async def test_without_a_storage_class_the_home_pvc_uses_the_cluster_default(tmp_path, monkeypatch,
                                                                             kube_client_settings):
    spawner = _spawner_from_rendered_chart(tmp_path, monkeypatch, {})
    pvc = spawner.get_pvc_manifest()
    assert pvc.spec.resources.requests == {"storage": "10Gi"}
    assert pvc.spec.storage_class_name is None  # not "": an empty class would turn dynamic provisioning off


async def test_storage_type_none_gives_servers_no_home_volume(tmp_path, monkeypatch, kube_client_settings):
    spawner = _spawner_from_rendered_chart(tmp_path, monkeypatch, {"singleuser": {"storage": {"type": "none"}}})
    assert (spawner.storage_pvc_ensure, spawner.volumes, spawner.volume_mounts) == (False, [], [])


def test_gateway_mounts_the_extra_volumes_such_as_the_datasets():
    objects = render(ValuesSet("datasets", CODING_CHART, DATASETS))
    pod = only(objects, "Deployment", "arena-arenahub-coding-gateway")["spec"]["template"]["spec"]
    assert [v["name"] for v in pod["volumes"]] == ["state", "tmp", "datasets"]
    assert pod["volumes"][-1] == DATASETS["gateway"]["extraVolumes"][0]
    mounts = pod["containers"][0]["volumeMounts"]
    assert mounts[-1] == {"name": "datasets", "mountPath": "/srv/datasets", "readOnly": True}
    assert [m["name"] for m in mounts] == ["state", "tmp", "datasets"]


def test_changing_the_gateway_volumes_rolls_the_gateway_pod():
    def checksum(values: dict) -> str:
        deployment = only(render(ValuesSet("v", CODING_CHART, values)), "Deployment", "arena-arenahub-coding-gateway")
        return deployment["spec"]["template"]["metadata"]["annotations"]["checksum/config"]

    assert checksum(DATASETS) != checksum({})
