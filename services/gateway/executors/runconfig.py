"""What the local executor hands its per-run supervisor (``<run_dir>/run.json``), and back from JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from arenahub.gateway.executors.base import Mount, RunLimits, RunSpec
from arenahub.gateway.executors.sandbox import GpuDevice


@dataclass(frozen=True)
class SupervisorConfig:
    """One run as the supervisor sees it: the RunSpec plus the executor's settings and host facts."""

    spec: RunSpec
    python_paths: tuple[str, ...]
    gpu_devices: tuple[GpuDevice, ...] | None
    slots_dir: str  # lock files, one per sandbox uid
    uid_base: int
    uid_count: int
    use_cgroups: bool
    max_log_bytes: int
    bwrap: str = "/usr/bin/bwrap"
    setpriv: str = "/usr/bin/setpriv"
    check_interval_s: float = 1.0  # how often CPU time, disk use and cancel requests are checked

    def to_json(self) -> str:
        """The config as JSON text."""
        data = asdict(self)
        data["spec"]["code_dir"] = str(self.spec.code_dir)
        for mount in data["spec"]["mounts"]:
            mount["host"] = str(mount["host"])
        return json.dumps(data, indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> SupervisorConfig:
        """Parse what to_json wrote; raises ValueError/KeyError on a damaged file."""
        data = json.loads(text)
        raw = data["spec"]
        spec = RunSpec(
            job_id=raw["job_id"],
            user=raw["user"],
            code_dir=Path(raw["code_dir"]),
            argv=list(raw["argv"]),
            mounts=[Mount(Path(m["host"]), m["target"], bool(m["writable"])) for m in raw["mounts"]],
            gpus=[int(g) for g in raw["gpus"]],
            limits=RunLimits(**raw["limits"]),
            env=dict(raw["env"]),
        )
        devices = data["gpu_devices"]
        return cls(
            spec=spec,
            python_paths=tuple(data["python_paths"]),
            gpu_devices=None if devices is None else tuple(GpuDevice(**d) for d in devices),
            slots_dir=data["slots_dir"],
            uid_base=int(data["uid_base"]),
            uid_count=int(data["uid_count"]),
            use_cgroups=bool(data["use_cgroups"]),
            max_log_bytes=int(data["max_log_bytes"]),
            bwrap=data["bwrap"],
            setpriv=data["setpriv"],
            check_interval_s=float(data["check_interval_s"]),
        )


# The files of a run folder, shared by the executor (reader) and the supervisor (writer).
RUN_CONFIG = "run.json"  # SupervisorConfig, written by the executor before the supervisor starts
LOG_FILE = "log.jsonl"  # one LogRecord per line, appended by the supervisor
RESULT_FILE = "result.json"  # RunResult, written once (atomically) when the run has ended
SUPERVISOR_FILE = "supervisor.json"  # pid, uid and cgroups of the supervisor, for operators
SUPERVISOR_LOG = "supervisor.log"  # the supervisor's own stderr (tracebacks), never shown to users
CANCEL_FILE = "cancel-requested"  # created by the executor's cancel(), before it signals
WORK_DIR = "work"  # the writable code copy, /workspace in the sandbox
ETC_DIR = "etc"  # generated passwd, group, hosts
