"""The coding chart's idle culler: the same per-profile and unattended timeouts as the embedded hub's."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

import arenahub.hub_config
from arenahub.hub_config.culling import TIMEOUTS_ENV
from arenahub.hub_config.settings import HubSettings
from arenahub.hub_config.wiring import configure
from tests.unit.helm.charts import CODING_CHART, ValuesSet, helm_binary, only, render
from tests.unit.helm.spawners import load_rendered_hub_config
from tests.unit.helm.test_chart_hub_config import CHART, CULLER, ENV, chartconfig

pytestmark = pytest.mark.unit
needs_helm = pytest.mark.skipif(helm_binary() is None, reason="helm not built: run scripts/k8s-harness build")
PROXY_PUBLIC = "http://arena-arenahub-coding-proxy-public:80"
CULLER_TOKEN = "c" * 32


@pytest.fixture(scope="module")
def default_values() -> dict:
    return yaml.safe_load((CODING_CHART / "values.yaml").read_text())


def _with_profiles(values: dict, profiles: list[dict]) -> dict:
    changed = yaml.safe_load(yaml.safe_dump(values))
    changed["singleuser"]["profileList"] = profiles
    return changed


def _culler(config: dict) -> tuple[dict, dict]:
    """The idle-culler's timeouts document and its role's scopes, from a hub config."""
    service = next(s for s in config["JupyterHub"]["services"] if s["name"] == "idle-culler")
    role = next(r for r in config["JupyterHub"]["load_roles"] if r["name"] == "idle-culler")
    return json.loads(service["environment"][TIMEOUTS_ENV]), role


def test_the_chart_culler_gets_the_timeouts_the_embedded_hub_gives_the_same_profiles(default_values, tmp_path):
    timeouts, role = _culler(chartconfig.build_hub_config(CHART, default_values, ENV, CULLER))
    c = Config()
    configure(c, HubSettings(data_dir=tmp_path, gpus=[], profiles=default_values["singleuser"]["profileList"]))
    embedded = json.loads(next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
                          ["environment"][TIMEOUTS_ENV])
    assert {k: v for k, v in timeouts.items() if k != "proxy_url"} == \
        {k: v for k, v in embedded.items() if k != "proxy_url"}
    assert timeouts["unattended"] == {"gpu-quarter": 300, "gpu-half": 300}  # GPU profiles: 300 s unless set
    assert timeouts["proxy_url"] == PROXY_PUBLIC
    assert "access:servers" in role["scopes"]


def test_a_profile_unattended_timeout_reaches_the_culler_and_zero_turns_it_off(default_values):
    profiles = [
        {"slug": "cpu", "display_name": "CPU", "unattended_timeout_s": 120},
        {"slug": "gpu-quarter", "display_name": "0.25 GPU", "gpu_fraction": 0.25, "unattended_timeout_s": 0,
         "default": True},
        {"slug": "gpu-half", "display_name": "0.5 GPU", "gpu_fraction": 0.5, "unattended_timeout_s": 600},
    ]
    timeouts, _ = _culler(chartconfig.build_hub_config(CHART, _with_profiles(default_values, profiles), ENV, CULLER))
    assert timeouts["unattended"] == {"cpu": 120, "gpu-half": 600}
    assert timeouts["default_profile"] == "gpu-quarter"


def test_with_every_unattended_timeout_off_the_culler_gets_no_access_to_servers(default_values):
    profiles = [{**p, "unattended_timeout_s": 0} for p in default_values["singleuser"]["profileList"]]
    timeouts, role = _culler(chartconfig.build_hub_config(CHART, _with_profiles(default_values, profiles), ENV, CULLER))
    assert timeouts["unattended"] == {}
    assert "access:servers" not in role["scopes"]


def test_a_negative_unattended_timeout_is_refused_naming_the_profile(default_values):
    profiles = [{"slug": "q", "display_name": "q", "gpu_fraction": 0.25, "unattended_timeout_s": -1}]
    with pytest.raises(chartconfig.ChartValuesError,
                       match=r"singleuser.profileList: .*\('q'\): unattended_timeout_s must be 0 or more"):
        chartconfig.build_hub_config(CHART, _with_profiles(default_values, profiles), ENV, CULLER)


class _KernelsHandler(BaseHTTPRequestHandler):
    """Stands in for the proxy: alice's server has no kernel attached, bob's has a tab connected."""

    kernels = {"/user/alice/api/kernels": [{"connections": 0, "execution_state": "idle"}],
               "/user/bob/api/kernels": [{"connections": 1, "execution_state": "idle"}]}

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        known = self.path in self.kernels and self.headers.get("Authorization") == f"token {CULLER_TOKEN}"
        body = json.dumps(self.kernels.get(self.path, [])).encode()
        self.send_response(200 if known else 403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def proxy_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KernelsHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@needs_helm
def test_rendered_chart_config_makes_the_culler_stop_unattended_gpu_servers_only(tmp_path, monkeypatch, proxy_url):
    profiles = [{"slug": "cpu", "display_name": "CPU"},
                {"slug": "gpu-quarter", "display_name": "0.25 GPU", "gpu_fraction": 0.25, "default": True}]
    c = load_rendered_hub_config(tmp_path, monkeypatch, {"singleuser": {"profileList": profiles}})
    culler = next(s for s in c.JupyterHub.services if s["name"] == "idle-culler")
    config_file = Path(next(a for a in culler["command"] if a.startswith("--config="))[len("--config="):])
    assert config_file == Path(arenahub.hub_config.__file__).parent / "culler_config.py"
    timeouts = json.loads(culler["environment"][TIMEOUTS_ENV])
    assert timeouts["proxy_url"] == PROXY_PUBLIC
    # the culler's config file, as the culler loads it; the proxy is a local stand-in
    monkeypatch.setenv(TIMEOUTS_ENV, json.dumps({**timeouts, "proxy_url": proxy_url}))
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", CULLER_TOKEN)
    culler_config = Config()
    exec(compile(config_file.read_text(), str(config_file), "exec"), {"get_config": lambda: culler_config})
    hook = culler_config.IdleCuller.cull_arbiter_hook

    async def culled(user: str, profile: str, idle_s: int) -> bool:
        server = {"url": f"/user/{user}/", "state": {"profile": profile}}
        return await hook(inactive=timedelta(seconds=idle_s), inactive_limit=3600, server=server)

    async def decisions() -> list[bool]:
        return [await culled("alice", "gpu-quarter", 301), await culled("alice", "gpu-quarter", 299),
                await culled("bob", "gpu-quarter", 301), await culled("alice", "cpu", 301)]

    assert asyncio.run(decisions()) == [True, False, False, False]


@needs_helm
def test_the_culler_proxy_url_names_the_public_proxy_service_and_the_hub_may_reach_it():
    objects = render(ValuesSet("defaults", CODING_CHART, {}))
    service = only(objects, "Service", "arena-arenahub-coding-proxy-public")
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, "http")]
    container = only(objects, "Deployment", "arena-arenahub-coding-proxy")["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "http", "containerPort": 8000} in [{k: p[k] for k in ("name", "containerPort")}
                                                       for p in container["ports"]]
    policy = only(objects, "NetworkPolicy", "arena-arenahub-coding-hub")
    to_proxy = [rule for rule in policy["spec"]["egress"]
                if any(t.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/component") == "proxy"
                       for t in rule.get("to", []))]
    assert [p["port"] for rule in to_proxy for p in rule["ports"]] == [8001, 8000]


@needs_helm
def test_with_culling_off_the_hub_may_not_reach_the_public_proxy_port():
    policy = only(render(ValuesSet("no-cull", CODING_CHART, {"cull": {"enabled": False}})),
                  "NetworkPolicy", "arena-arenahub-coding-hub")
    assert 8000 not in [p.get("port") for rule in policy["spec"]["egress"] for p in rule.get("ports", [])]
