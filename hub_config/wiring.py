"""Applies HubSettings to a JupyterHub config object. Wiring only: no decisions live here."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from arenahub.core.metrics_roles import observability_roles
from arenahub.core.profiles import default_profile
from arenahub.core.gateway_roles import hub_roles

from .culling import TIMEOUTS_ENV
from .quota_hook import SpawnQuotaCheck
from .settings import HubSettings

HERE = Path(__file__).parent
GATEWAY_SERVICE = "arenahub-gateway"
GATEWAY_URL_ENV = "ARENAHUB_GATEWAY_URL"  # read by the notebook extension (arenahub.extensions)


def ensure_secret(path: Path, nbytes: int = 32) -> str:
    """Read a hex secret from ``path``, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_hex(nbytes)
    path.touch(mode=0o600)
    path.write_text(value)
    return value


def configure(c, s: HubSettings) -> None:
    """Fill the JupyterHub config ``c`` from the settings ``s``."""
    s.hub_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (s.data_dir / "homes").mkdir(parents=True, exist_ok=True)
    s.data_dir.chmod(0o711)  # servers run as other uids: they may traverse, not list

    c.JupyterHub.ip = s.ip
    c.JupyterHub.port = s.port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = s.hub_port
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{s.proxy_api_port}"
    c.JupyterHub.db_url = s.resolved_db_url()
    c.JupyterHub.cookie_secret_file = str(s.hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(s.hub_dir / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.pid_file = str(s.hub_dir / "proxy.pid")
    c.ConfigurableHTTPProxy.auth_token = ensure_secret(s.hub_dir / "proxy_token")
    chp = Path(sys.executable).parent / "configurable-http-proxy"
    if chp.exists():
        c.ConfigurableHTTPProxy.command = [str(chp)]
    # Servers survive a hub restart; the spawner finds them again from its saved state.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.concurrent_spawn_limit = s.concurrent_spawn_limit
    c.JupyterHub.allow_named_servers = False
    c.JupyterHub.default_url = "/hub/home"

    # Authentication
    c.Authenticator.admin_users = set(s.admin_users)
    c.Authenticator.allow_all = True  # who may sign in is decided by approval, below
    if s.authenticator in ("accounts", "native"):
        # Sign-up, approval and password pages; see docs/accounts.md. Its templates add
        # themselves to JupyterHub.template_paths, and its table lives in the hub database.
        c.JupyterHub.authenticator_class = "arenahub.hub_config.accounts.ArenaAuthenticator"
        c.ArenaAuthenticator.open_signup = s.open_signup
        c.ArenaAuthenticator.minimum_password_length = 8
        c.ArenaAuthenticator.seed_users = dict(s.seed_users)
    else:
        c.JupyterHub.authenticator_class = "dummy"

    # Spawner
    c.JupyterHub.spawner_class = "arenahub.spawner.VGPULocalSpawner"
    c.VGPULocalSpawner.profiles = [p.model_dump() for p in s.profiles]
    c.VGPULocalSpawner.gpu_inventory = [g.model_dump() for g in s.gpus] if s.gpus is not None else None
    c.VGPULocalSpawner.homes_root = str(s.data_dir / "homes")
    c.VGPULocalSpawner.home_skeleton = str(s.home_skeleton or "")
    c.VGPULocalSpawner.activity_interval_s = s.activity_interval_s
    c.Spawner.environment = {"ARENAHUB_DATA_DIR": str(s.data_dir)} | gateway_spawner_env(s)

    services: list[dict] = []
    roles: list[dict] = []
    # Idle culling as a hub-managed service
    if s.cull.enabled:
        profiles = s.profile_objects()
        default = next((p.slug for p in profiles if p.default), profiles[0].slug)
        timeouts = {"profiles": {p.slug: p.idle_timeout_s for p in profiles if p.idle_timeout_s},
                    "default_profile": default,
                    # unattended servers: the culler lists their kernels through the proxy
                    "unattended": {p.slug: p.unattended_limit_s() for p in profiles if p.unattended_limit_s()},
                    "proxy_url": f"http://{_loopback(s.ip)}:{s.port}"}
        services.append({
            "name": "idle-culler",
            "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                        f"--timeout={s.cull.timeout_s}", f"--cull-every={s.cull.every_s}",
                        f"--max-age={s.cull.max_age_s}",
                        f"--config={HERE / 'culler_config.py'}"],
            "environment": {TIMEOUTS_ENV: json.dumps(timeouts)},
        })
        roles.append({
            "name": "idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers",
                       "admin:server_state", *(["access:servers"] if timeouts["unattended"] else [])],
            "services": ["idle-culler"],
        })
    # The job gateway as a hub-managed service, and the scopes users' servers submit jobs with
    if s.gateway.enabled:
        services.append(gateway_service(s, api_token=ensure_secret(s.hub_dir / "gateway_api_token")))
        c.Spawner.pre_spawn_hook = SpawnQuotaCheck(s.gateway_url)  # GPU notebooks over budget are refused
        gateway_roles = hub_roles(service_name=GATEWAY_SERVICE, admin_users=s.admin_users)
        metrics_roles = observability_roles(service_name=GATEWAY_SERVICE, admin_users=s.admin_users)
        c.JupyterHub.custom_scopes = {**gateway_roles["custom_scopes"], **metrics_roles["custom_scopes"]}
        roles.extend([*gateway_roles["load_roles"], *metrics_roles["load_roles"]])
    c.JupyterHub.services = services
    c.JupyterHub.load_roles = roles


def gateway_spawner_env(s: HubSettings) -> dict[str, str]:
    """What a notebook server needs to find the gateway: ARENAHUB_GATEWAY_URL (empty dict when disabled).

    The direct loopback URL, not the proxy's /services/arenahub-gateway/: local notebook servers
    share the host's loopback, and this way uploads and log streams skip a proxy hop and work
    whatever address and TLS the proxy is given. The server's own JUPYTERHUB_API_TOKEN is the
    credential; the hub's ``server`` role gives it the submit scope.
    """
    return {GATEWAY_URL_ENV: s.gateway_url + "/"} if s.gateway.enabled else {}


def gateway_service(s: HubSettings, *, api_token: str) -> dict:
    """The ``c.JupyterHub.services`` entry that starts ``python -m arenahub.gateway``.

    The hub passes JUPYTERHUB_API_URL/TOKEN/SERVICE_URL/SERVICE_PREFIX itself; the gateway's
    own settings go in as ARENAHUB_GATEWAY_* variables (operator's ``gateway.environment`` last).
    ``api_token`` is kept in the hub folder, so the gateway's token stays the same across hub
    restarts and an operator can start the gateway by hand with it (docs/gateway.md).
    """
    s.gateway_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    s.gateway_dir.chmod(0o700)  # code snapshots and datasets' paths: never readable by servers' uids
    env = {
        "ARENAHUB_GATEWAY_PATHS__STATE_DIR": str(s.gateway_dir),
        "ARENAHUB_GATEWAY_CLUSTER__NODES": json.dumps({"local": s.gateway_gpu_count(_discovered_gpus(s))}),
        "ARENAHUB_GATEWAY_HUB__STOP_WITH_HUB": "true",
        # Notebook GPU charging: which profile holds how much of a GPU (arenahub.gateway.quotakeeper)
        "ARENAHUB_GATEWAY_QUOTA__NOTEBOOK_PROFILES": json.dumps({p.slug: p.gpu_fraction for p in s.profile_objects()}),
        "ARENAHUB_GATEWAY_QUOTA__NOTEBOOK_DEFAULT_FRACTION": str(default_profile(s.profile_objects()).gpu_fraction),
    }
    if s.gateway.db_url:
        env["ARENAHUB_GATEWAY_DB__URL"] = s.gateway.db_url
    env.update(s.gateway.environment)
    return {
        "name": GATEWAY_SERVICE,
        "url": s.gateway_url,
        "command": [sys.executable, "-m", "arenahub.gateway"],
        "api_token": api_token,
        "environment": env,
        "cwd": str(s.gateway_dir),
    }


def _loopback(ip: str) -> str:
    """The address the hub's own services reach the proxy at: loopback when it listens on all."""
    if ip in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{ip}]" if ":" in ip else ip


def _discovered_gpus(s: HubSettings) -> int:
    """How many GPUs NVML or nvidia-smi sees, when no inventory is configured (0 without GPUs)."""
    if s.gpus is not None or s.gateway.gpus is not None:
        return 0
    from arenahub.spawner.inventory import discover_gpus

    return len(discover_gpus(None)[0])
