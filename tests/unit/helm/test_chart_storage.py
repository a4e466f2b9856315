"""Where the coding chart's storage values end up: users' home PVCs and the gateway pod's extra volumes."""

from __future__ import annotations

import pytest

from tests.unit.helm.charts import CODING_CHART, ValuesSet, helm_binary, only, render
from tests.unit.helm.spawners import spawner_from_rendered_chart

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build"),
]

DATASETS = {"gateway": {
    "extraVolumes": [{"name": "datasets", "persistentVolumeClaim": {"claimName": "arena-datasets", "readOnly": True}}],
    "extraVolumeMounts": [{"name": "datasets", "mountPath": "/srv/datasets", "readOnly": True}],
}}


async def test_user_storage_size_class_and_access_modes_reach_the_home_pvc(tmp_path, monkeypatch, kube_client_settings):
    values = {"singleuser": {"storage": {"type": "dynamic", "capacity": "50Gi", "homeMountPath": "/home/jovyan",
                                         "dynamic": {"storageClass": "fast-ssd",
                                                     "storageAccessModes": ["ReadWriteOncePod"]}}}}
    spawner = spawner_from_rendered_chart(tmp_path, monkeypatch, values)
    assert (spawner.storage_pvc_ensure, spawner.storage_capacity, spawner.storage_class) == (True, "50Gi", "fast-ssd")
    pvc = spawner.get_pvc_manifest()
    assert pvc.spec.resources.requests == {"storage": "50Gi"}
    assert pvc.spec.storage_class_name == "fast-ssd"
    assert pvc.spec.access_modes == ["ReadWriteOncePod"]
    assert spawner.volume_mounts == [{"name": "home", "mountPath": "/home/jovyan"}]


async def test_without_a_storage_class_the_home_pvc_uses_the_cluster_default(tmp_path, monkeypatch,
                                                                             kube_client_settings):
    spawner = spawner_from_rendered_chart(tmp_path, monkeypatch, {})
    pvc = spawner.get_pvc_manifest()
    assert pvc.spec.resources.requests == {"storage": "10Gi"}
    assert pvc.spec.storage_class_name is None  # not "": an empty class would turn dynamic provisioning off


async def test_storage_type_none_gives_servers_no_home_volume(tmp_path, monkeypatch, kube_client_settings):
    spawner = spawner_from_rendered_chart(tmp_path, monkeypatch, {"singleuser": {"storage": {"type": "none"}}})
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
