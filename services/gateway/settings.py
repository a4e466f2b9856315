"""The gateway's settings: nested groups read from ``ARENAHUB_GATEWAY_<GROUP>__<NAME>`` variables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from arenahub.gateway.executor_settings import ExecutorSettings
from arenahub.gateway.observability_settings import GpuSamplerSettings
from arenahub.gateway.quota_settings import NotifySettings, QuotaSettings
from arenahub.gateway.retention_settings import RetentionSettings

PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "placeholder", "secret"})

# What JupyterHub passes to a managed service, mapped onto the ``hub`` group.
_HUB_VARIABLES = {
    "JUPYTERHUB_API_URL": "api_url",
    "JUPYTERHUB_API_TOKEN": "api_token",
    "JUPYTERHUB_SERVICE_NAME": "service_name",
    "JUPYTERHUB_SERVICE_PREFIX": "service_prefix",
    "JUPYTERHUB_SERVICE_URL": "service_url",
}


class DatabaseSettings(BaseModel):
    """Where the gateway keeps jobs, logs, metrics and datasets."""

    url: str = Field(
        "",
        description="SQLAlchemy URL. Empty means SQLite (WAL mode) at <state_dir>/gateway.sqlite. "
        "Production: postgresql+psycopg://user:password@host/dbname.",
    )
    pool_size: int = Field(5, ge=1, description="Connections kept open (PostgreSQL only).")


class HubSettings(BaseModel):
    """How the gateway finds JupyterHub; the hub fills these through JUPYTERHUB_* variables."""

    api_url: str = Field("http://127.0.0.1:8081/hub/api", description="The hub's REST API base URL.")
    api_token: str = Field("change-me", description="The gateway service's own hub API token.")
    service_name: str = Field("arenahub-gateway", description="The name the hub knows this service by.")
    service_prefix: str = Field(
        "/services/arenahub-gateway/", description="URL prefix the proxy forwards to the gateway."
    )
    service_url: str = Field("http://127.0.0.1:10101", description="Where the gateway listens.")
    auth_cache_s: float = Field(
        30.0, ge=0, description="Seconds a validated token is trusted without asking the hub again; 0 disables."
    )
    timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for the hub API before answering 503.")
    stop_with_hub: bool = Field(
        False,
        description="Stop when the process that started the gateway exits (the hub, for a hub-managed gateway), "
        "so a restarted hub starts a fresh gateway instead of finding its port taken. Running jobs live on "
        "and the next gateway re-attaches to them. The embedded hub sets it; leave it off for a gateway "
        "started by hand or by systemd.",
    )


class PathSettings(BaseModel):
    """Folders on the gateway's machine."""

    state_dir: Path = Field(
        Path("~/.arenahub/gateway"), description="Code snapshots, run folders and the default SQLite file."
    )


class LimitSettings(BaseModel):
    """What one submission may ask for; larger requests get a 413 or 422 that names the limit."""

    upload_max_bytes: int = Field(50 * 2**20, gt=0, description="Largest accepted code archive, in bytes.")
    extract_max_bytes: int = Field(200 * 2**20, gt=0, description="Largest total unpacked size, in bytes.")
    extract_max_files: int = Field(10_000, gt=0, description="Most files and folders in one archive.")
    max_gpus_per_job: int | None = Field(
        None, ge=0, description="Most whole GPUs one job may ask for; empty means the largest node's GPU count."
    )
    default_time_limit_s: int = Field(3600, gt=0, description="Wall-clock limit when a spec gives none.")
    max_time_limit_s: int = Field(24 * 3600, gt=0, description="Longest wall-clock limit a spec may ask for.")


class RunSettings(BaseModel):
    """Resource limits and interpreter of every sandboxed run."""

    python: str = Field("python3", description="Interpreter for .py entry points, as found inside the sandbox.")
    mem_bytes: int = Field(16 * 2**30, gt=0, description="Memory limit of one run, in bytes.")
    cpu_s: int = Field(0, ge=0, description="CPU-time limit in seconds; 0 means 4 x the wall-clock limit.")
    max_procs: int = Field(512, gt=0, description="Most processes and threads one run may have.")
    disk_bytes: int = Field(2 * 2**30, gt=0, description="Size cap of the run's writable area and /tmp.")


class ClusterSettings(BaseModel):
    """The whole-GPU inventory jobs are placed on."""

    nodes: dict[str, int] = Field(
        default_factory=lambda: {"local": 0},
        description='Node name -> whole GPUs on it, e.g. {"local": 8}. 0 GPUs runs CPU-only jobs.',
    )


class SchedulerSettings(BaseModel):
    """How queued jobs are placed and how often the queue is looked at."""

    interval_s: float = Field(1.0, gt=0, description="Seconds between queue passes when nothing wakes it.")
    policy: str = Field("binpack", description="Placement policy name (see arenahub.gateway.placement).")
    per_user_gpu_cap: int = Field(0, ge=0, description="Most GPUs one user's jobs may hold at once; 0 = no cap.")
    fair_share_window_s: int = Field(7 * 24 * 3600, gt=0, description="Seconds of GPU use counted for fair share.")


class LogSettings(BaseModel):
    """Which log policy every job's output passes before it is stored or shown."""

    policy: str = Field(
        "open", description="Policy kind with its defaults: open, filtered or whitelist (ignored with policy_file)."
    )
    policy_file: Path | None = Field(None, description="YAML log policy (arenahub.logpolicy format); wins over policy.")


class GatewaySettings(BaseSettings):
    """All gateway settings; build with ``get_settings()`` or directly in tests."""

    model_config = SettingsConfigDict(
        env_prefix="ARENAHUB_GATEWAY_", env_nested_delimiter="__", extra="ignore"
    )

    environment: Literal["dev", "production"] = Field(
        "production", description="'dev' allows placeholder secrets; anything else refuses them."
    )
    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    hub: HubSettings = Field(default_factory=HubSettings)
    paths: PathSettings = Field(default_factory=PathSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    logs: LogSettings = Field(default_factory=LogSettings)
    quota: QuotaSettings = Field(default_factory=QuotaSettings)
    notify: NotifySettings = Field(default_factory=NotifySettings)
    gpu_sampler: GpuSamplerSettings = Field(default_factory=GpuSamplerSettings)
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    competition_files: list[Path] = Field(
        default_factory=list,
        description="Competition YAML files created at start unless a competition with their id exists "
        "(a JSON list in ARENAHUB_GATEWAY_COMPETITION_FILES). `arenahub run --demo` names the demo's.",
    )

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> GatewaySettings:
        if self.environment != "dev" and self.hub.api_token.strip().lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "ARENAHUB_GATEWAY_HUB__API_TOKEN (or JUPYTERHUB_API_TOKEN) is a placeholder; "
                "set the gateway's hub API token, or set ARENAHUB_GATEWAY_ENVIRONMENT=dev for development."
            )
        password = make_url(self.database_url).password
        if self.environment != "dev" and password is not None and password.lower() in PLACEHOLDER_SECRETS:
            raise ValueError(
                "ARENAHUB_GATEWAY_DB__URL contains a placeholder password; set the real database password, "
                "or set ARENAHUB_GATEWAY_ENVIRONMENT=dev for development."
            )
        return self

    @property
    def database_url(self) -> str:
        """The database URL, with the SQLite default under the state folder filled in."""
        return self.db.url or f"sqlite:///{self.state_dir / 'gateway.sqlite'}"

    @property
    def state_dir(self) -> Path:
        """The state folder with ``~`` expanded."""
        return self.paths.state_dir.expanduser()

    @property
    def gpu_cap(self) -> int:
        """Most whole GPUs one job may ask for."""
        if self.limits.max_gpus_per_job is not None:
            return self.limits.max_gpus_per_job
        return max(self.cluster.nodes.values(), default=0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # ARENAHUB_GATEWAY_* wins over what the hub passes, so an operator can override it.
        return (init_settings, env_settings, _JupyterHubServiceEnv(settings_cls), dotenv_settings)


class _JupyterHubServiceEnv(PydanticBaseSettingsSource):
    """Reads the JUPYTERHUB_* variables a hub-managed service is started with into the hub group."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        hub = {name: os.environ[var] for var, name in _HUB_VARIABLES.items() if var in os.environ}
        return {"hub": hub} if hub else {}


def get_settings() -> GatewaySettings:
    """Build the settings from the environment now; raises pydantic.ValidationError naming bad variables."""
    return GatewaySettings()
