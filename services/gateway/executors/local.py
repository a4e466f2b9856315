"""The local executor: each run in a bubblewrap sandbox on this machine, under its own detached supervisor.

A run lives in ``<state_dir>/runs/<job_id>/`` (see runconfig.py for its files). The supervisor
writes log.jsonl and result.json; this class only starts supervisors and reads those files, so
a new LocalExecutor (after a gateway restart) picks up any run from its RunHandle.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from pathlib import Path

from arenahub.core.nvml import nvml_session
from arenahub.gateway.executors.base import LogRecord, RunHandle, RunResult, RunSpec
from arenahub.gateway.executors.logfile import parse_records
from arenahub.gateway.executors.runconfig import (
    CANCEL_FILE,
    LOG_FILE,
    RESULT_FILE,
    RUN_CONFIG,
    SUPERVISOR_FILE,
    WORK_DIR,
    SupervisorConfig,
)
from arenahub.gateway.executors.sandbox import GpuDevice, validate_run_spec
from arenahub.gateway.limits import JobCgroup, load_cgroup_layout
from arenahub.scoring.evaluation import OUTPUTS_SUBDIR

SUPERVISOR_MODULE = "arenahub.gateway.supervisor"
# The supervisor starts from this environment, never the gateway's: no token reaches it.
_SUPERVISOR_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


class LocalExecutor:
    """Starts, follows, cancels and re-attaches to sandboxed runs on this machine (needs root)."""

    def __init__(
        self,
        state_dir: Path,
        *,
        python_prefix: Path | None = None,
        extra_ro_paths: Sequence[Path] | None = None,
        uid_base: int = 2_000_000_000,
        uid_count: int = 1000,
        uid_slots_dir: Path = Path("/run/arenahub/uid-slots"),
        use_cgroups: bool = True,
        max_log_bytes: int = 64 << 20,
        poll_interval_s: float = 0.1,
        cancel_wait_s: float = 10.0,
        bwrap: str = "/usr/bin/bwrap",
        setpriv: str = "/usr/bin/setpriv",
    ):
        """Prepare ``state_dir`` (runs/ inside, mode 0700) and the uid lock folder.

        python_prefix: the Python environment jobs run ``python`` from, bound read-only at its
        own path with its base interpreter (default: this process's, i.e. the gateway's venv).
        extra_ro_paths: more host folders bound read-only at the same path (default: the folders
        that make ``import arenahub.sdk`` work inside the job). uid_base/uid_count: the range of
        dedicated host uids jobs run as, one per concurrent run, unused by real accounts.
        uid_slots_dir: lock files of those uids; shared by every executor on the host, so two
        gateways (or test runs) never hand one uid to two jobs at once.
        use_cgroups: False enforces limits with rlimits only. max_log_bytes: output kept per run.
        Raises RuntimeError when this host cannot run sandboxes, saying what is missing.
        """
        if os.geteuid() != 0:
            raise RuntimeError(
                "LocalExecutor needs root: bwrap must create mount, PID and network namespaces and "
                "drop each job to its own uid. Run the gateway as root, or use another executor."
            )
        for tool, package in ((bwrap, "bubblewrap"), (setpriv, "util-linux")):
            if not os.access(tool, os.X_OK):
                raise RuntimeError(f"{tool} is missing; install the {package} package (apt-get install {package}).")
        self.state_dir = Path(state_dir)
        self.runs_dir = self.state_dir / "runs"
        self.slots_dir = Path(uid_slots_dir)
        for folder in (self.state_dir, self.runs_dir, self.slots_dir):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.python_paths = _python_paths(Path(python_prefix) if python_prefix else Path(sys.prefix))
        extra = default_sdk_paths() if extra_ro_paths is None else [Path(p) for p in extra_ro_paths]
        self.python_paths += tuple(str(p) for p in extra if not _within_any(str(p), self.python_paths))
        self.uid_base, self.uid_count = uid_base, uid_count
        self.use_cgroups, self.max_log_bytes = use_cgroups, max_log_bytes
        self.poll_interval_s, self.cancel_wait_s = poll_interval_s, cancel_wait_s
        self.bwrap, self.setpriv = bwrap, setpriv

    async def start(self, spec: RunSpec) -> RunHandle:
        """Start ``spec`` under a new detached supervisor; raises ValueError for a spec that cannot run."""
        validate_run_spec(spec)
        if not Path(spec.code_dir).is_dir():
            raise ValueError(f"code_dir {spec.code_dir} is not a folder; extract the code snapshot first.")
        for mount in spec.mounts:
            if not Path(mount.host).exists():
                raise ValueError(f"Mount source {mount.host} (for {mount.target}) does not exist on this host.")
        gpu_devices = await asyncio.to_thread(find_gpu_devices, spec.gpus) if spec.gpus else None
        run_dir = self.runs_dir / spec.job_id
        try:
            run_dir.mkdir(mode=0o700)
        except FileExistsError:
            raise ValueError(f"A run with job_id {spec.job_id} already exists in {self.runs_dir}.") from None
        try:
            await self._prepare_run_dir(spec, run_dir, gpu_devices)
        except Exception:
            shutil.rmtree(run_dir, ignore_errors=True)  # nothing ran: the job_id may be used again
            raise
        pid = await self._launch_supervisor(run_dir)
        return RunHandle(spec.job_id, str(run_dir), pid, time.time())

    async def _prepare_run_dir(self, spec: RunSpec, run_dir: Path, gpu_devices: tuple[GpuDevice, ...] | None) -> None:
        config = SupervisorConfig(
            spec=spec,
            python_paths=self.python_paths,
            gpu_devices=gpu_devices,
            slots_dir=str(self.slots_dir),
            uid_base=self.uid_base,
            uid_count=self.uid_count,
            use_cgroups=self.use_cgroups,
            max_log_bytes=self.max_log_bytes,
            bwrap=self.bwrap,
            setpriv=self.setpriv,
        )
        try:  # copied now, so the caller may delete its snapshot as soon as start() returns
            await asyncio.to_thread(shutil.copytree, spec.code_dir, run_dir / WORK_DIR, symlinks=True)
        except (OSError, shutil.Error) as exc:
            raise ValueError(f"Cannot copy the code snapshot {spec.code_dir}: {exc}") from exc
        (run_dir / RUN_CONFIG).write_text(config.to_json())
        (run_dir / LOG_FILE).touch(mode=0o600)

    async def _launch_supervisor(self, run_dir: Path) -> int:
        """Start the supervisor detached from this process; returns its pid."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-m", SUPERVISOR_MODULE, "--daemonize", str(run_dir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_SUPERVISOR_ENV,
            cwd="/",
            start_new_session=True,
        )
        out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
        if proc.returncode != 0 or not out.strip().isdigit():
            shutil.rmtree(run_dir, ignore_errors=True)  # no supervisor: nothing ran, the job_id is free again
            detail = err.decode(errors="replace")[-2000:]
            raise RuntimeError(f"The supervisor for {run_dir} did not start (exit {proc.returncode}): {detail}")
        return int(out)

    async def read_logs(self, handle: RunHandle, offset: int = 0) -> AsyncIterator[LogRecord]:
        """Yield the run's records after byte ``offset``, following the log until the run has ended."""
        path = Path(handle.run_dir) / LOG_FILE
        pending = b""
        position = offset
        while True:
            finished = self._has_ended(handle)  # checked before reading: then this read gets the rest
            data = _read_from(path, position + len(pending))
            if data:
                pending += data
                records, used = parse_records(pending, position)
                pending = pending[used:]
                position += used
                for record in records:
                    yield record
                continue
            if finished:
                return
            await asyncio.sleep(self.poll_interval_s)

    async def result(self, handle: RunHandle) -> RunResult | None:
        """The run's result, None while it runs, or "lost" when its supervisor vanished without one."""
        found = _load_result(handle)
        if found is not None or supervisor_alive(handle):
            return found
        found = _load_result(handle)  # it may have written the result just before exiting
        if found is not None:
            return found
        lost = RunResult(
            status="lost",
            exit_code=None,
            reason=(
                f"The supervisor (pid {handle.supervisor_pid}) of this run is gone without a result: "
                "it was killed or the machine restarted. Its output up to then is kept."
            ),
            finished_at=time.time(),
        )
        _save_result(handle, lost)
        self._remove_cgroups(handle)
        return lost

    async def cancel(self, handle: RunHandle, reason: str = "") -> None:
        """Stop the run and every process in it; returns once it has a result (or after cancel_wait_s).

        ``reason`` is written to the cancel file, where the supervisor reads it as the run's reason.
        """
        if _load_result(handle) is not None:
            return
        (Path(handle.run_dir) / CANCEL_FILE).write_text(reason)
        if supervisor_alive(handle):
            try:
                os.kill(handle.supervisor_pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + self.cancel_wait_s
        while time.monotonic() < deadline and await self.result(handle) is None:
            await asyncio.sleep(self.poll_interval_s)

    async def collect_outputs(self, handle: RunHandle, dest: Path) -> Path:
        """The run's own outputs folder (``<run_dir>/work/outputs``, /workspace/outputs in the
        sandbox); ``dest`` stays unused. It may be missing or a symlink: the scorer opens it safely."""
        return run_outputs_dir(handle)

    async def find_runs(self, competitions: Iterable[str] = ()) -> list[RunHandle]:
        """Handles of every run folder under ``runs/`` (running or ended), for re-attaching after a restart.

        ``competitions`` is accepted for the Executor interface and ignored: local runs share one
        folder. A live supervisor is found by its command line; an ended run's handle carries the
        pid it last had (from supervisor.json), or 0 when its supervisor never wrote one.
        """
        return await asyncio.to_thread(self._find_runs)

    def _find_runs(self) -> list[RunHandle]:
        live = live_supervisors(self.runs_dir)
        handles = []
        for run_dir in sorted(self.runs_dir.iterdir()):
            try:
                started_at = (run_dir / RUN_CONFIG).stat().st_mtime
            except OSError:
                continue  # not a run folder, or one start() is still preparing
            pid = live.get(str(run_dir)) or _recorded_pid(run_dir)
            handles.append(RunHandle(run_dir.name, str(run_dir), pid, started_at))
        return handles

    def _has_ended(self, handle: RunHandle) -> bool:
        return (Path(handle.run_dir) / RESULT_FILE).exists() or not supervisor_alive(handle)

    def _remove_cgroups(self, handle: RunHandle) -> None:
        """Remove the cgroups a lost run's supervisor could not clean up."""
        try:
            name = json.loads((Path(handle.run_dir) / SUPERVISOR_FILE).read_text()).get("cgroup_name")
        except (OSError, ValueError):
            return
        layout = load_cgroup_layout() if name else None
        if layout is not None:
            JobCgroup(layout, name).remove(timeout_s=0)


def run_outputs_dir(handle: RunHandle) -> Path:
    """Where a local run's /workspace/outputs lies on this machine: ``<run_dir>/work/outputs``."""
    return Path(handle.run_dir) / WORK_DIR / OUTPUTS_SUBDIR


def supervisor_alive(handle: RunHandle) -> bool:
    """Whether the handle's supervisor process still runs (a recycled pid does not count)."""
    proc = Path(f"/proc/{handle.supervisor_pid}")
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X") and SUPERVISOR_MODULE.encode() in cmdline and handle.run_dir.encode() in cmdline


def live_supervisors(runs_dir: Path) -> dict[str, int]:
    """Run folder -> pid of each live supervisor of a run under ``runs_dir``, read from /proc."""
    found: dict[str, list[tuple[int, int]]] = {}
    prefix = str(runs_dir).rstrip("/") + "/"
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")
            fields = Path(entry.path, "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if SUPERVISOR_MODULE.encode() not in argv or fields[0] in ("Z", "X"):
            continue
        run_dir = next((a.decode(errors="replace") for a in argv if a.startswith(prefix.encode())), None)
        session, parent = int(fields[3]), int(fields[1])
        if run_dir is not None and session == int(entry.name):  # a supervisor leads its own session
            found.setdefault(run_dir, []).append((int(entry.name), parent))
    live = {}
    for run_dir, candidates in found.items():
        pids = {pid for pid, _ in candidates}
        # While --daemonize forks, the exiting parent matches too: the supervisor is its child.
        children = [pid for pid, parent in candidates if parent in pids]
        live[run_dir] = children[0] if children else min(pids)
    return live


def _recorded_pid(run_dir: Path) -> int:
    try:
        return int(json.loads((run_dir / SUPERVISOR_FILE).read_text())["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def find_gpu_devices(indices: Sequence[int]) -> tuple[GpuDevice, ...] | None:
    """Minor numbers and UUIDs of the given GPUs from NVML; None when this host has no NVIDIA driver.

    Raises ValueError for an index this machine does not have.
    """
    with nvml_session() as nvml:
        if nvml is None:
            return None
        count = nvml.nvmlDeviceGetCount()
        missing = [i for i in indices if i >= count]
        if missing:
            raise ValueError(f"GPU {missing[0]} does not exist: this machine has {count} GPU(s), indices 0..{count - 1}.")
        devices = []
        for index in indices:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            uuid = nvml.nvmlDeviceGetUUID(handle)
            uuid = uuid.decode() if isinstance(uuid, bytes) else uuid
            devices.append(GpuDevice(index, int(nvml.nvmlDeviceGetMinorNumber(handle)), uuid))
        return tuple(devices)


def default_sdk_paths() -> list[Path]:
    """Source folders that ``import arenahub.sdk`` needs inside a job (for an editable install)."""
    paths = []
    for name in ("arenahub", "arenahub.sdk"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            paths += [Path(p) for p in spec.submodule_search_locations]
    return paths


def _python_paths(prefix: Path) -> tuple[str, ...]:
    """The environment's prefix and, for a venv, the base interpreter's prefix (from pyvenv.cfg)."""
    paths = [str(prefix)]
    cfg = prefix / "pyvenv.cfg"
    if cfg.exists():
        for line in cfg.read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                base = str(Path(os.path.realpath(value.strip())).parent)
                if not _within_any(base, (*paths, "/usr")):
                    paths.append(base)
    return tuple(paths)


def _within_any(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip("/") + "/") for r in roots)


def _read_from(path: Path, offset: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(1 << 20)
    except FileNotFoundError:
        return b""


def _load_result(handle: RunHandle) -> RunResult | None:
    try:
        data = json.loads((Path(handle.run_dir) / RESULT_FILE).read_text())
    except FileNotFoundError:
        return None
    return RunResult(data["status"], data["exit_code"], data["reason"], float(data["finished_at"]))


def _save_result(handle: RunHandle, result: RunResult) -> None:
    path = Path(handle.run_dir) / RESULT_FILE
    tmp = path.with_name(RESULT_FILE + ".lost.tmp")
    tmp.write_text(json.dumps(vars(result)))
    os.replace(tmp, path)
