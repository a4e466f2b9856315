"""The coding chart's jupyterhub_config.py and chartconfig.py: chart values to JupyterHub config."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from traitlets.config import Config

from arenahub.spawner.kubeobjects import SliceBackend, build_notebook_resources
from arenahub.core.profiles import profile_from_dict
from tests.unit.helm.charts import (
    BACKENDS,
    CODING_CHART,
    EXTERNAL_DB,
    IN_CHART_DB,
    ValuesSet,
    helm_binary,
    only,
    profiles_for,
    render,
)

pytestmark = pytest.mark.unit
needs_helm = pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build")

CHART = {"fullname": "arena-arenahub-coding", "name": "arenahub-coding", "release": "arena",
         "namespace": "arenahub", "version": "0.1.0"}
ENV = {"ARENAHUB_GATEWAY_API_TOKEN": "f" * 64, "ARENAHUB_HUB_DB_PASSWORD": "pw"}
CULLER = Path("/culler_config.py")


def _load_chartconfig() -> ModuleType:
    path = CODING_CHART / "files" / "hub" / "chartconfig.py"
    spec = importlib.util.spec_from_file_location("arenahub_chartconfig", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and typing need the module registered
    spec.loader.exec_module(module)
    return module


chartconfig = _load_chartconfig()


@pytest.fixture(scope="module")
def default_values() -> dict:
    return yaml.safe_load((CODING_CHART / "values.yaml").read_text())


def _with(values: dict, **changes: dict) -> dict:
    merged = yaml.safe_load(yaml.safe_dump(values))
    for key, change in changes.items():
        merged[key] = {**merged[key], **change}
    return merged


def test_hub_uses_the_vgpu_kube_spawner_with_the_chart_profiles_and_backend(default_values):
    config = chartconfig.build_hub_config(CHART, default_values, ENV, CULLER)
    assert config["JupyterHub"]["spawner_class"] == "arenahub.spawner.kube.VGPUKubeSpawner"
    vgpu = config["VGPUKubeSpawner"]
    assert vgpu["gpu_backend"] == "hami"
    assert [p["slug"] for p in vgpu["profiles"]] == ["cpu", "gpu-quarter", "gpu-half"]
    assert vgpu["notebook_network_policy"] is False  # the chart's own NetworkPolicy stands in
    assert config["KubeSpawner"]["extra_labels"]["app.kubernetes.io/component"] == "singleuser-server"


def test_proxy_runs_apart_and_the_hub_is_reached_by_its_service_name(default_values):
    config = chartconfig.build_hub_config(CHART, default_values, ENV, CULLER)
    assert config["ConfigurableHTTPProxy"] == {"api_url": "http://arena-arenahub-coding-proxy-api:8001",
                                               "should_start": False}
    assert config["JupyterHub"]["hub_connect_url"] == "http://arena-arenahub-coding-hub:8081"


def test_gateway_is_a_hub_service_and_notebooks_are_told_its_url(default_values):
    config = chartconfig.build_hub_config(CHART, default_values, ENV, CULLER)
    gateway = next(s for s in config["JupyterHub"]["services"] if s["name"] == "arenahub-gateway")
    assert gateway == {"name": "arenahub-gateway", "url": "http://arena-arenahub-coding-gateway:10101",
                       "api_token": "f" * 64}
    assert config["KubeSpawner"]["environment"]["ARENAHUB_GATEWAY_URL"] == "http://arena-arenahub-coding-gateway:10101/"
    assert "custom:arenahub-jobs:submit" in config["JupyterHub"]["custom_scopes"]
    assert config["Spawner"]["pre_spawn_hook"].gateway_url == "http://arena-arenahub-coding-gateway:10101"


def test_a_missing_gateway_token_is_refused_with_the_variable_named(default_values):
    with pytest.raises(chartconfig.ChartValuesError, match="ARENAHUB_GATEWAY_API_TOKEN is empty"):
        chartconfig.build_hub_config(CHART, default_values, {}, CULLER)


def test_culler_gets_the_chart_timeouts_and_per_profile_limits(default_values):
    values = _with(default_values, cull={"timeout": 900, "every": 60, "maxAge": 86400, "users": True})
    config = chartconfig.build_hub_config(CHART, values, ENV, CULLER)
    culler = next(s for s in config["JupyterHub"]["services"] if s["name"] == "idle-culler")
    assert {"--timeout=900", "--cull-every=60", "--max-age=86400", "--cull-users"} <= set(culler["command"])
    assert '"gpu-quarter": 1800' in culler["environment"]["ARENAHUB_CULL_TIMEOUTS"]


def test_culling_off_means_no_culler_service(default_values):
    config = chartconfig.build_hub_config(CHART, _with(default_values, cull={"enabled": False}), ENV, CULLER)
    assert "idle-culler" not in {s["name"] for s in config["JupyterHub"]["services"]}


@pytest.mark.parametrize("db, url", [
    ({"type": "sqlite-pvc"}, "sqlite:////srv/jupyterhub/jupyterhub.sqlite"),
    (EXTERNAL_DB["hub"]["db"], "postgresql+psycopg://jupyterhub:pw@db.example.org:5432/jupyterhub"),
])
def test_hub_database_url_follows_hub_db(default_values, db, url):
    values = _with(default_values, hub={"db": db})
    assert chartconfig.build_db_url(CHART, values, "pw") == url


def test_a_password_with_url_characters_is_escaped_into_the_url(default_values):
    values = _with(default_values, hub={"db": EXTERNAL_DB["hub"]["db"]})
    url = chartconfig.build_db_url(CHART, values, "s3cret/with:odd@chars")
    assert url == "postgresql+psycopg://jupyterhub:s3cret%2Fwith%3Aodd%40chars@db.example.org:5432/jupyterhub"


def test_in_chart_postgresql_is_used_when_enabled_without_a_url(default_values):
    values = _with(default_values, **IN_CHART_DB)
    assert chartconfig.build_db_url(CHART, values, "pw") == \
        "postgresql+psycopg://arenahub:pw@arena-arenahub-coding-postgresql:5432/jupyterhub"


def test_hub_config_values_win_over_what_the_chart_sets(default_values):
    values = _with(default_values, hub={"config": {"JupyterHub": {"concurrent_spawn_limit": 5},
                                                   "KubeSpawner": {"start_timeout": 900}}})
    config = chartconfig.build_hub_config(CHART, values, ENV, CULLER)
    assert config["JupyterHub"]["concurrent_spawn_limit"] == 5
    assert config["KubeSpawner"]["start_timeout"] == 900
    assert config["KubeSpawner"]["image"] == "ghcr.io/arenahub/notebook:0.1.0"  # untouched traits stay


def test_a_profile_the_core_rejects_is_refused_naming_the_value(default_values):
    values = _with(default_values, singleuser={"profileList": [{"slug": "x", "display_name": "x", "colour": "red"}]})
    with pytest.raises(chartconfig.ChartValuesError, match=r"singleuser.profileList: .*unknown keys \['colour'\]"):
        chartconfig.build_hub_config(CHART, values, ENV, CULLER)


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_profile_of_each_backend_set_is_expressible_by_the_spawner(backend):
    backend_settings = SliceBackend(name=backend)
    for raw in profiles_for(backend):
        resources = build_notebook_resources(profile_from_dict(raw), backend_settings)
        assert resources.mem_bytes == int(raw["mem_gib"] * 2**30)


@needs_helm
@pytest.mark.parametrize("values_set", [
    ValuesSet("defaults", CODING_CHART, {}),
    ValuesSet("in-chart-db", CODING_CHART, {**IN_CHART_DB, "hub": {**IN_CHART_DB["hub"], "extraConfig": {
        "10-banner": "c.JupyterHub.template_vars = {'banner': 'Finals week'}"}}}),
], ids=lambda s: s.name)
def test_rendered_jupyterhub_config_runs_against_the_installed_arenahub(tmp_path, monkeypatch, values_set):
    configmap = only(render(values_set, release="arena", namespace="arenahub"), "ConfigMap", "arena-arenahub-coding-hub")
    for name, text in configmap["data"].items():
        (tmp_path / name).write_text(text)
    monkeypatch.setenv("ARENAHUB_CHART_VALUES", str(tmp_path / "values.yaml"))
    monkeypatch.setenv("ARENAHUB_GATEWAY_API_TOKEN", "a" * 64)
    monkeypatch.setenv("ARENAHUB_HUB_DB_PASSWORD", "pw")
    monkeypatch.setattr(sys, "path", list(sys.path))  # the config file prepends its own folder
    monkeypatch.delitem(sys.modules, "chartconfig", raising=False)
    c = Config()
    path = tmp_path / "jupyterhub_config.py"
    exec(compile(path.read_text(), str(path), "exec"), {"get_config": lambda: c, "__file__": str(path)})
    assert c.JupyterHub.spawner_class == "arenahub.spawner.kube.VGPUKubeSpawner"
    assert c.KubeSpawner.namespace == "arenahub"
    if "extraConfig" in values_set.values.get("hub", {}):
        assert c.JupyterHub.template_vars == {"banner": "Finals week"}
        assert c.JupyterHub.db_url.startswith("postgresql+psycopg://arenahub:pw@arena-arenahub-coding-postgresql")


def test_every_trait_the_chart_sets_exists_and_accepts_its_value(default_values):
    """traitlets ignores unknown names in config silently; a typo here would be a setting that does nothing."""
    from jupyterhub.app import JupyterHub
    from jupyterhub.proxy import ConfigurableHTTPProxy as Proxy
    from arenahub.hub_config.accounts import ArenaAuthenticator
    from arenahub.spawner.kube import VGPUKubeSpawner

    classes = {"JupyterHub": JupyterHub, "ConfigurableHTTPProxy": Proxy, "Authenticator": ArenaAuthenticator,
               "ArenaAuthenticator": ArenaAuthenticator, "Spawner": VGPUKubeSpawner, "KubeSpawner": VGPUKubeSpawner,
               "VGPUKubeSpawner": VGPUKubeSpawner}
    from traitlets import HasTraits

    probe = HasTraits()  # container traits validate inside an object's cross-validation lock
    config = chartconfig.build_hub_config(CHART, _with(default_values, **IN_CHART_DB), ENV, CULLER)
    for section, traits in config.items():
        known = classes[section].class_traits(config=True)
        for name, value in traits.items():
            assert name in known, f"{section}.{name} is not a configurable trait"
            if hasattr(known[name], "validate"):  # traitlets' Any (e.g. pre_spawn_hook) takes anything
                known[name].validate(probe, value)
