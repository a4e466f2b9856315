"""Site settings of an embedded arenahub (``arenahub.yaml``), validated as one typed model.

The field descriptions are the operator's reference. ``arenahub check-config FILE`` reports
every problem with its line. ``arenahub run`` merges command-line flags on top and hands
the result to ``jupyterhub_config.py`` as a JSON file named by ``ARENAHUB_SETTINGS``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from arenahub.core.profiles import DEFAULT_PROFILES, Profile, profile_from_dict, validate_profiles

SETTINGS_ENV = "ARENAHUB_SETTINGS"


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "arenahub"


class ProfileSettings(BaseModel):
    """One spawn-form profile; see arenahub.core.profiles.Profile."""

    model_config = ConfigDict(extra="forbid")
    slug: str = Field(description="Short name used in user_options, e.g. gpu-quarter.")
    display_name: str = Field(description="Shown in the spawn form.")
    gpu_fraction: float = Field(0.0, ge=0, le=1, description="0 (CPU only), 1/n of one GPU, or 1.")
    mem_gib: float = Field(4, gt=0, description="Memory limit of the server, GiB.")
    cpu: float = Field(1, gt=0, description="CPU limit of the server, in cores.")
    description: str = ""
    idle_timeout_s: int = Field(0, ge=0, description="Cull after this many idle seconds; 0: cull.timeout_s.")
    default: bool = False
    max_procs: int = Field(512, gt=0, description="Most processes the server may run at once.")
    kernel_idle_timeout_s: int | None = Field(
        None, ge=0, description="Shut down a kernel idle this long while the server stays up, freeing its GPU "
        "memory. null: 900 on GPU profiles, 3600 on CPU ones; 0: never.")
    kernel_cull_interval_s: int = Field(60, gt=0, description="Seconds between the server's idle-kernel checks.")
    kernel_cull_connected: bool | None = Field(
        None, description="Also cull idle kernels an open browser tab is connected to. null: yes on GPU profiles.")
    kernel_cull_busy: bool = Field(False, description="Also cull kernels that are running code (off: never cut "
                                   "a long cell).")
    unattended_timeout_s: int | None = Field(
        None, ge=0, description="Stop the server after this many idle seconds when no browser is connected to any "
        "of its kernels and none is running code, before idle_timeout_s. null: 300 on GPU profiles, off on CPU "
        "ones; 0: off.")


class CullSettings(BaseModel):
    """Idle culling (jupyterhub-idle-culler as a hub-managed service)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    timeout_s: int = Field(3600, gt=0, description="Stop servers idle this long (profiles may set less).")
    every_s: int = Field(60, gt=0, description="How often the culler checks, seconds.")
    max_age_s: int = Field(0, ge=0, description="Stop servers this old even if busy; 0: never.")


class GpuSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    index: int = Field(ge=0)
    name: str = "GPU"
    mem_mib: int = Field(81559, gt=0)


class GatewayHubSettings(BaseModel):
    """The job gateway (arenahub.gateway), started by the hub as the managed service ``arenahub-gateway``."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = Field(True, description="Start the job gateway with the hub. Off: Train and Test answer "
                          "'gateway-not-configured' in notebooks.")
    port: int = Field(10101, gt=0, lt=65536, description="Port the gateway listens on, on 127.0.0.1 only. "
                      "Notebooks reach it there (ARENAHUB_GATEWAY_URL); browsers through the proxy at "
                      "/services/arenahub-gateway/.")
    db_url: str = Field("", description="Gateway database URL; empty: SQLite (WAL) at <data_dir>/gateway/"
                        "gateway.sqlite. Production: postgresql+psycopg://user:password@host/dbname.")
    gpus: int | None = Field(None, ge=0, description="Whole GPUs train and test jobs are placed on. null: as many "
                             "as `gpus` lists, or as NVML / nvidia-smi find when `gpus` is null too (0 on "
                             "machines without GPUs: CPU-only jobs). Jobs and notebook slices share them.")
    environment: dict[str, str] = Field(
        default_factory=dict,
        description="Further gateway settings as ARENAHUB_GATEWAY_* variables (docs/gateway.md), e.g. "
        "{ARENAHUB_GATEWAY_LOGS__POLICY: filtered}. They win over what the fields above set.")

    @field_validator("environment")
    @classmethod
    def _gateway_variables_only(cls, v: dict[str, str]) -> dict[str, str]:
        wrong = sorted(name for name in v if not name.startswith("ARENAHUB_GATEWAY_"))
        if wrong:
            raise ValueError(f"only ARENAHUB_GATEWAY_* variables may be set here, not {', '.join(wrong)}; "
                             "see docs/gateway.md for the list")
        return v


class HubSettings(BaseModel):
    """Everything an operator sets for one embedded hub."""

    model_config = ConfigDict(extra="forbid")
    data_dir: Path = Field(default_factory=default_data_dir,
                           description="Holds the hub database, secrets, user homes and logs.")
    ip: str = Field("127.0.0.1", description="Address the proxy listens on.")
    port: int = Field(8000, gt=0, lt=65536, description="Port the proxy listens on.")
    hub_port: int = Field(8081, gt=0, lt=65536, description="Port of the hub's own API on 127.0.0.1.")
    proxy_api_port: int = Field(8001, gt=0, lt=65536, description="Port of the proxy's REST API on 127.0.0.1.")
    db_url: str = Field("", description="Hub database URL; empty: SQLite in data_dir. "
                        "Use postgresql://user:pass@host/db in production.")
    authenticator: Literal["accounts", "native", "dummy"] = Field(
        "accounts", description="'accounts': self sign-up with admin approval and hashed passwords "
        "(docs/accounts.md); 'native' is an older name for it. "
        "'dummy' accepts any password and is for tests only.")
    admin_users: list[str] = Field(default_factory=lambda: ["admin"],
                                   description="Users who are admins; they may sign up without approval.")
    open_signup: bool = Field(False, description="Let new users in without admin approval.")
    seed_users: dict[str, str] = Field(default_factory=dict,
                                       description="Users created at start with these passwords (demo mode).")
    profiles: list[ProfileSettings] = Field(
        default_factory=lambda: [ProfileSettings(**{k: v for k, v in p.__dict__.items() if k != "extra"})
                                 for p in DEFAULT_PROFILES],
        description="Spawn-form profiles.")
    gpus: list[GpuSettings] | None = Field(
        None, description="GPUs notebooks may share; null: ask NVML / nvidia-smi.")
    cull: CullSettings = Field(default_factory=CullSettings)
    activity_interval_s: int = Field(10, gt=0, description="Seconds between activity reports of servers.")
    concurrent_spawn_limit: int = Field(100, ge=0, description="Most spawns in flight at once; 0: no limit.")
    demo: bool = Field(False, description="Seed an admin and a demo user and print how to sign in.")
    home_skeleton: Path | None = Field(None, description="Folder copied into every new home (starter notebooks, "
                                       "a demo job); existing homes are left alone. Demo mode sets one.")
    gateway: GatewayHubSettings = Field(default_factory=GatewayHubSettings)

    @field_validator("authenticator")
    @classmethod
    def _authenticator_alias(cls, v: str) -> str:
        return "accounts" if v == "native" else v

    @field_validator("profiles")
    @classmethod
    def _profiles_valid(cls, v: list[ProfileSettings]) -> list[ProfileSettings]:
        validate_profiles([profile_from_dict(p.model_dump()) for p in v])
        return v

    def profile_objects(self) -> list[Profile]:
        return [profile_from_dict(p.model_dump()) for p in self.profiles]

    @property
    def hub_dir(self) -> Path:
        return self.data_dir / "hub"

    def resolved_db_url(self) -> str:
        if not self.db_url:
            return f"sqlite:///{self.hub_dir / 'jupyterhub.sqlite'}"
        # psycopg (3) is the PostgreSQL driver arenahub ships; plain postgresql:// would ask for psycopg2
        for plain in ("postgresql://", "postgres://"):
            if self.db_url.startswith(plain):
                return "postgresql+psycopg://" + self.db_url[len(plain):]
        return self.db_url

    @property
    def gateway_dir(self) -> Path:
        """The gateway's state folder: code snapshots, run folders, the default SQLite file."""
        return self.data_dir / "gateway"

    @property
    def gateway_url(self) -> str:
        """Where the gateway listens, on loopback."""
        return f"http://127.0.0.1:{self.gateway.port}"

    def gateway_gpu_count(self, discovered: int = 0) -> int:
        """Whole GPUs the gateway places jobs on (see GatewayHubSettings.gpus).

        ``discovered``: GPUs found by NVML or nvidia-smi, used when neither list is configured.
        """
        if self.gateway.gpus is not None:
            return self.gateway.gpus
        return len(self.gpus) if self.gpus is not None else discovered


def load_settings(path: str | os.PathLike | None = None) -> HubSettings:
    """Settings from the JSON file ``arenahub run`` wrote (path or $ARENAHUB_SETTINGS)."""
    path = path or os.environ.get(SETTINGS_ENV)
    if not path:
        return HubSettings()
    return HubSettings.model_validate(json.loads(Path(path).read_text()))
