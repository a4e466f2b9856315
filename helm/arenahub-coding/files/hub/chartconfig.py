"""Turns the arenahub-coding chart's values into JupyterHub config sections (pure: values in, dicts out).

``jupyterhub_config.py`` (next to this file in the hub pod) reads the mounted values and the
secrets in the environment, calls ``build_hub_config`` and applies the result; tests call it
directly. Names of chart objects are ``<fullname>-<component>``, as in the chart's templates.
"""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from arenahub.core.profiles import profile_from_dict, validate_profiles
from arenahub.core.metrics_roles import observability_roles
from arenahub.core.gateway_roles import hub_roles
from arenahub.hub_config.culling import TIMEOUTS_ENV
from arenahub.hub_config.quota_hook import SpawnQuotaCheck
from arenahub.hub_config.wiring import GATEWAY_SERVICE, GATEWAY_URL_ENV

HUB_PORT = 8081
PROXY_API_PORT = 8001
PROXY_HTTP_PORT = 8000
PROXY_PUBLIC_PORT = 80  # the proxy-public Service's port (to PROXY_HTTP_PORT)
GATEWAY_PORT = 10101
NOTEBOOK_PORT = 8888
HUB_STATE_DIR = "/srv/jupyterhub"
SPAWNER_CLASS = "arenahub.spawner.kube.VGPUKubeSpawner"

# Environment variables the chart's hub Deployment fills from its Secret.
GATEWAY_TOKEN_ENV = "ARENAHUB_GATEWAY_API_TOKEN"
HUB_DB_PASSWORD_ENV = "ARENAHUB_HUB_DB_PASSWORD"

Config = dict[str, dict[str, Any]]


class ChartValuesError(ValueError):
    """The chart values cannot be turned into a hub config; the message names the value."""


def component_name(chart: Mapping[str, Any], component: str) -> str:
    """The object name the chart gives a component, e.g. ``arena-arenahub-coding-hub``."""
    return f"{chart['fullname']}-{component}"


def selector_labels(chart: Mapping[str, Any], component: str) -> dict[str, str]:
    """The labels the chart's NetworkPolicies select a component's pods by."""
    return {
        "app.kubernetes.io/name": chart["name"],
        "app.kubernetes.io/instance": chart["release"],
        "app.kubernetes.io/component": component,
    }


def build_db_url(chart: Mapping[str, Any], values: Mapping[str, Any], password: str) -> str:
    """The hub database URL for ``hub.db``: SQLite on the hub's PVC, an external PostgreSQL
    (``hub.db.url`` with ``password`` put in), or the in-chart PostgreSQL."""
    db = values["hub"]["db"]
    if db["type"] == "sqlite-pvc":
        return f"sqlite:///{HUB_STATE_DIR}/jupyterhub.sqlite"
    if db.get("url"):
        url = make_url(db["url"])
        return url.set(password=password).render_as_string(hide_password=False) if password else db["url"]
    postgresql = values["postgresql"]
    if not postgresql.get("enabled"):
        raise ChartValuesError(
            "hub.db.type is postgres but hub.db.url is empty and postgresql.enabled is false; "
            "set hub.db.url or enable the in-chart PostgreSQL."
        )
    auth = postgresql["auth"]
    url = make_url(
        f"postgresql+psycopg://{auth['username']}@{component_name(chart, 'postgresql')}:5432/{auth['hubDatabase']}"
    )
    return url.set(password=password).render_as_string(hide_password=False)


def build_profiles(values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``singleuser.profileList`` as VGPUKubeSpawner.profiles; raises ChartValuesError naming a bad entry."""
    raw = [dict(p) for p in values["singleuser"]["profileList"]]
    try:
        profiles = [profile_from_dict(p) for p in raw]
        validate_profiles(profiles)
    except ValueError as e:
        raise ChartValuesError(f"singleuser.profileList: {e}") from None
    return raw


def build_storage(values: Mapping[str, Any]) -> dict[str, Any]:
    """KubeSpawner traits for ``singleuser.storage``: one kept PVC per user, or no home volume."""
    storage = values["singleuser"]["storage"]
    if storage["type"] == "none":
        return {"storage_pvc_ensure": False, "volumes": [], "volume_mounts": []}
    dynamic = storage.get("dynamic", {})
    traits: dict[str, Any] = {
        "storage_pvc_ensure": True,
        "storage_capacity": storage["capacity"],
        "storage_access_modes": list(dynamic.get("storageAccessModes") or ["ReadWriteOnce"]),
        "volumes": [{"name": "home", "persistentVolumeClaim": {"claimName": "{pvc_name}"}}],
        "volume_mounts": [{"name": "home", "mountPath": storage["homeMountPath"]}],
    }
    if dynamic.get("storageClass"):
        traits["storage_class"] = dynamic["storageClass"]
    return traits


def build_spawner(chart: Mapping[str, Any], values: Mapping[str, Any]) -> Config:
    """KubeSpawner and VGPUKubeSpawner sections: image, profiles, GPU backend, storage, labels."""
    singleuser = values["singleuser"]
    sharing = values["gpuSharing"]
    image = singleuser["image"]
    environment = {str(k): v for k, v in singleuser.get("extraEnv", {}).items()}
    if values["gateway"]["enabled"]:
        environment[GATEWAY_URL_ENV] = f"http://{component_name(chart, 'gateway')}:{GATEWAY_PORT}/"
    kube: dict[str, Any] = {
        "namespace": chart["namespace"],
        "image": f"{image['name']}:{image['tag']}",
        "image_pull_policy": image["pullPolicy"],
        "image_pull_secrets": list(values.get("imagePullSecrets", [])),
        "uid": singleuser["uid"],
        "fs_gid": singleuser["fsGid"],
        "port": NOTEBOOK_PORT,
        "start_timeout": singleuser["startTimeout"],
        "node_selector": dict(singleuser.get("nodeSelector", {})),
        "tolerations": list(singleuser.get("extraTolerations", [])),
        "environment": environment,
        "common_labels": {"app.kubernetes.io/part-of": "arenahub", "app.kubernetes.io/managed-by": "kubespawner"},
        "extra_labels": selector_labels(chart, "singleuser-server"),
        # no ServiceAccount token in notebooks unless the operator names an account
        "automount_service_account_token": bool(singleuser.get("serviceAccountName")),
        **build_storage(values),
    }
    if singleuser.get("serviceAccountName"):
        kube["service_account"] = singleuser["serviceAccountName"]
    vgpu = {
        "profiles": build_profiles(values),
        "gpu_backend": sharing["backend"],
        "gpu_mem_mib": sharing["gpuMemMiB"],
        "timeslice_replicas": sharing["replicasPerGpu"],
        "mig_profiles": dict(sharing.get("migProfiles", {})),
        "coding_pool_selector": dict(singleuser["codingPool"]["selector"]),
        "coding_pool_tolerations": list(singleuser["codingPool"]["tolerations"]),
        "unschedulable_timeout_s": float(singleuser["unschedulableTimeout"]),
        # the chart installs the notebook NetworkPolicy itself (singleuser.networkPolicy), so the
        # hub needs no right to create NetworkPolicies
        "notebook_network_policy": False,
        "hub_pod_labels": selector_labels(chart, "hub"),
        "proxy_pod_labels": selector_labels(chart, "proxy"),
        "hub_api_port": HUB_PORT,
        "proxy_port": PROXY_HTTP_PORT,
    }
    return {"KubeSpawner": kube, "VGPUKubeSpawner": vgpu}


def culler_timeouts(chart: Mapping[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """The culler's ``ARENAHUB_CULL_TIMEOUTS`` document, as the embedded hub's (hub_config.wiring) makes it.

    Per-profile idle timeouts, the default profile, per-profile unattended timeouts
    (``unattended_timeout_s``; null: 300 s on GPU profiles) and the proxy's in-cluster URL the
    culler lists servers' kernels through. Raises ChartValuesError naming a bad profile.
    """
    try:
        profiles = [profile_from_dict(p) for p in values["singleuser"]["profileList"]]
        validate_profiles(profiles)
    except ValueError as e:
        raise ChartValuesError(f"singleuser.profileList: {e}") from None
    default = next((p.slug for p in profiles if p.default), profiles[0].slug)
    return {
        "profiles": {p.slug: p.idle_timeout_s for p in profiles if p.idle_timeout_s},
        "default_profile": default,
        "unattended": {p.slug: p.unattended_limit_s() for p in profiles if p.unattended_limit_s()},
        "proxy_url": f"http://{component_name(chart, 'proxy-public')}:{PROXY_PUBLIC_PORT}",
    }


def build_culler(chart: Mapping[str, Any], values: Mapping[str, Any],
                 culler_config: Path) -> tuple[list[dict], list[dict]]:
    """The idle-culler service and its role (empty lists when ``cull.enabled`` is false).

    The role has ``access:servers`` only when some profile has an unattended timeout: the culler
    then asks servers for their kernel lists through the proxy.
    """
    cull = values["cull"]
    if not cull["enabled"]:
        return [], []
    timeouts = culler_timeouts(chart, values)
    command = [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={cull['timeout']}",
               f"--cull-every={cull['every']}", f"--max-age={cull['maxAge']}", f"--config={culler_config}"]
    if cull.get("users"):
        command.append("--cull-users")
    scopes = ["list:users", "read:users:activity", "read:servers", "delete:servers", "admin:server_state"]
    if timeouts["unattended"]:
        scopes.append("access:servers")
    if cull.get("users"):
        scopes.append("admin:users")
    service = {"name": "idle-culler", "command": command, "environment": {TIMEOUTS_ENV: json.dumps(timeouts)}}
    role = {"name": "idle-culler", "scopes": scopes, "services": ["idle-culler"]}
    return [service], [role]


def merge_config(base: Config, overrides: Mapping[str, Mapping[str, Any]]) -> Config:
    """``base`` with ``overrides`` (``hub.config``) laid over it, trait by trait; neither is changed."""
    merged = copy.deepcopy(base)
    for section, traits in overrides.items():
        if not isinstance(traits, Mapping):
            raise ChartValuesError(
                f"hub.config.{section} must be a mapping of trait names to values, like "
                "hub.config.JupyterHub.admin_access: true"
            )
        merged.setdefault(section, {}).update(copy.deepcopy(dict(traits)))
    return merged


def build_hub_config(
    chart: Mapping[str, Any], values: Mapping[str, Any], env: Mapping[str, str], culler_config: Path
) -> Config:
    """The whole hub config: section -> trait -> value, ``hub.config`` applied last (it wins).

    ``env`` holds the secrets the chart passes as variables (gateway token, database password).
    Raises ChartValuesError naming the value that is wrong.
    """
    hub = values["hub"]
    fullname = chart["fullname"]
    services, roles = build_culler(chart, values, culler_config)
    custom_scopes: dict[str, Any] = {}
    spawner_hooks: dict[str, Any] = {}
    if values["gateway"]["enabled"]:
        token = env.get(GATEWAY_TOKEN_ENV, "")
        if not token:
            raise ChartValuesError(f"{GATEWAY_TOKEN_ENV} is empty; the chart's Secret should fill it (gateway.apiToken).")
        gateway_url = f"http://{fullname}-gateway:{GATEWAY_PORT}"
        services.append({"name": GATEWAY_SERVICE, "url": gateway_url, "api_token": token})
        admins = hub.get("config", {}).get("Authenticator", {}).get("admin_users", [])
        gateway_roles = hub_roles(service_name=GATEWAY_SERVICE, admin_users=admins)
        metrics_roles = observability_roles(service_name=GATEWAY_SERVICE, admin_users=admins)
        custom_scopes = {**gateway_roles["custom_scopes"], **metrics_roles["custom_scopes"]}
        roles.extend([*gateway_roles["load_roles"], *metrics_roles["load_roles"]])
        # a GPU notebook over its user's GPU quota is refused before its pod is made
        spawner_hooks["pre_spawn_hook"] = SpawnQuotaCheck(gateway_url)
    base: Config = {
        "JupyterHub": {
            "hub_bind_url": f"http://:{HUB_PORT}",
            "hub_connect_url": f"http://{fullname}-hub:{HUB_PORT}",
            "db_url": build_db_url(chart, values, env.get(HUB_DB_PASSWORD_ENV, "")),
            "spawner_class": SPAWNER_CLASS,
            # servers outlive hub restarts and upgrades; the spawner finds them again
            "cleanup_servers": False,
            "allow_named_servers": False,
            "concurrent_spawn_limit": hub["concurrentSpawnLimit"],
            "active_server_limit": hub["activeServerLimit"],
            "authenticate_prometheus": hub["authenticatePrometheus"],
            "cookie_secret_file": f"{HUB_STATE_DIR}/jupyterhub_cookie_secret",
            "default_url": "/hub/home",
            "services": services,
            "load_roles": roles,
            "custom_scopes": custom_scopes,
        },
        "ConfigurableHTTPProxy": {
            "api_url": f"http://{fullname}-proxy-api:{PROXY_API_PORT}",
            # the proxy runs in its own Deployment
            "should_start": False,
        },
        "Spawner": spawner_hooks,
        **build_spawner(chart, values),
    }
    return merge_config(base, hub.get("config") or {})


def apply_config(c: Any, config: Config) -> None:
    """Set every trait of ``config`` on the traitlets config object ``c``."""
    for section, traits in config.items():
        for name, value in traits.items():
            setattr(getattr(c, section), name, value)
