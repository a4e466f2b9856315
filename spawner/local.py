"""VGPULocalSpawner: each user's jupyter-server in its own bubblewrap sandbox on a GPU slice.

A thin adapter over pure helpers: ``arenahub.core.profiles`` picks the profile,
``slices.place_slice`` picks the GPU, ``sandbox.build_bwrap_argv`` builds the command, and
``cgroups`` caps memory, CPU and processes. The slice each server holds is kept in its
JupyterHub state, so a restarted hub knows which slices are taken.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sys
import time
from pathlib import Path

from jupyterhub.spawner import LocalProcessSpawner
from jupyterhub.utils import random_port
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError
from traitlets import Bool, Float, Integer, List, Unicode, default

from arenahub.core.bwrap import build_bwrap_argv, make_etc_files
from arenahub.core.host import read_system_layout
from arenahub.core.profiles import (
    DEFAULT_PROFILES,
    Profile,
    ProfileError,
    profile_from_dict,
    select_profile,
    validate_profiles,
)

from .cgroups import CgroupLimits, Limits
from .forms import render_profile_form
from .homes import copy_skeleton
from .inventory import discover_gpus
from .metrics import HubMetrics, PoolView, ensure_hub_metrics
from .sandbox import HOSTNAME, NotebookSandbox, make_notebook_spec
from .slices import GpuDevice, NoSliceFree, Slice, free_fraction, place_slice

SERVER_CONFIG_DIR = Path(__file__).parent / "server_config"
GIB = 1024**3


class SliceTable:
    """The hub-wide table of GPU slices held by running servers (one per hub process)."""

    def __init__(self) -> None:
        self.held: dict[str, Slice] = {}
        self.profiles: dict[str, str] = {}  # running servers' profile slugs, for /hub/metrics

    def release(self, key: str) -> Slice | None:
        self.profiles.pop(key, None)
        return self.held.pop(key, None)


class VGPULocalSpawner(LocalProcessSpawner):
    """Start each user's server sandboxed by bubblewrap, with a fraction of a GPU."""

    slices = SliceTable()  # shared by every spawner of this hub process

    profiles = List(
        [p.__dict__ | {"extra": {}} for p in DEFAULT_PROFILES],
        help="""Profiles offered in the spawn form, like KubeSpawner's profile_list.

        Each entry: slug, display_name, gpu_fraction (0, or 1/n of one GPU), mem_gib, cpu,
        description, idle_timeout_s (0: the culler's default), default (bool), max_procs.
        """,
    ).tag(config=True)

    gpu_inventory = List(
        None,
        allow_none=True,
        help="""GPUs to share between notebooks, as a list of {index, name, mem_mib}.

        None (the default) asks NVML, then nvidia-smi. Set it on machines without GPUs to
        test placement, or to keep some GPUs away from notebooks.
        """,
    ).tag(config=True)

    homes_root = Unicode(
        help="""Host folder holding one persistent home per user (<homes_root>/<name>).

        Homes survive culling, stop and hub restarts.
        """,
    ).tag(config=True)

    home_skeleton = Unicode(
        "",
        help="""Host folder copied into a home the first time it is created, like /etc/skel:
        starter notebooks, a demo job. Files already in a home are never overwritten, and a
        home that exists is left alone. Empty: new homes start empty.""",
    ).tag(config=True)

    hidden_paths = List(
        Unicode(),
        help="""Host folders that must never be visible in a notebook even when a read-only
        software path contains them (the hub's data directory is added automatically).""",
    ).tag(config=True)

    readonly_paths = List(
        Unicode(),
        help="""Extra host folders shown read-only inside every notebook (software, shared data).
        The Python installation and the arenahub sources are always added.""",
    ).tag(config=True)

    uid_base = Integer(
        200000,
        help="""Each user's server runs as host uid ``uid_base + user id`` when the hub runs as
        root, so file permissions separate users even outside the sandbox. Pick a range that no
        real account uses. Ignored when the hub is not root (servers then share the hub's uid
        and only the sandbox separates them).""",
    ).tag(config=True)

    bwrap_path = Unicode("bwrap", help="The bubblewrap executable.").tag(config=True)

    tmp_size_mib = Integer(1024, help="Size of each server's private /tmp (tmpfs), in MiB.").tag(config=True)

    mps_pipe_directory = Unicode(
        "/tmp/nvidia-mps",
        help="""NVIDIA MPS pipe directory on the host, made visible in GPU servers so CUDA
        clients reach the MPS daemon that enforces the slice limits. Empty: none.""",
    ).tag(config=True)

    activity_interval_s = Integer(
        10,
        help="""Seconds between the server's activity reports to the hub
        (JUPYTERHUB_ACTIVITY_INTERVAL). The stock 300 s makes the idle culler act minutes
        late; 10 s keeps culling within seconds of its timeout at negligible cost.""",
    ).tag(config=True)

    ready_poll_interval_s = Float(
        0.05,
        help="""Seconds between readiness checks while a server starts. start() returns only
        once the server answers, so the hub's own back-off polling succeeds at once.""",
    ).tag(config=True)

    enforce_cgroups = Bool(
        True,
        help="""Cap memory, CPU and processes with cgroups when the kernel allows it. When it
        does not (no root, no writable cgroup tree) servers start anyway and the log says
        that limits are not enforced.""",
    ).tag(config=True)

    @default("cmd")
    def _default_cmd(self):
        return [sys.executable, "-m", "arenahub.spawner.singleuser"]

    @default("homes_root")
    def _default_homes_root(self):
        return str(Path(os.environ.get("ARENAHUB_DATA_DIR", "/var/lib/arenahub")) / "homes")

    # ------------------------------------------------------------------ profiles and form
    def load_profiles(self) -> list[Profile]:
        profiles = [profile_from_dict(p) for p in self.profiles]
        validate_profiles(profiles)
        return profiles

    def load_gpus(self) -> list[GpuDevice]:
        if not hasattr(type(self), "_gpus_cache"):
            gpus, source = discover_gpus(self.gpu_inventory)
            self.log.info("GPU inventory for notebooks: %d GPU(s) from %s", len(gpus), source)
            type(self)._gpus_cache = gpus
        return type(self)._gpus_cache

    @default("options_form")
    def _default_options_form(self):
        return self._render_form

    def _render_form(self, spawner) -> str:
        profiles = self.load_profiles()
        free = free_fraction(self.load_gpus(), self.slices.held)
        return render_profile_form(profiles, free)

    def options_from_form(self, formdata):
        slug = (formdata.get("profile") or [""])[0]
        return {"profile": slug} if slug else {}

    @property
    def slice_key(self) -> str:
        return f"{self.user.name}/{self.name}"

    def chosen_profile(self) -> Profile:
        try:
            return select_profile(self.user_options, self.load_profiles())
        except ProfileError as e:
            raise web.HTTPError(400, str(e)) from None

    # ------------------------------------------------------------------ state
    def load_state(self, state):
        super().load_state(state)
        s = state.get("slice")
        if s:
            self.gpu_slice = Slice(**s)
            self.slices.held[self.slice_key] = self.gpu_slice
        self.profile_slug = state.get("profile", "")
        if state.get("pid") and self.profile_slug:
            self.slices.profiles[self.slice_key] = self.profile_slug
        self._hub_metrics()

    def get_state(self):
        state = super().get_state()
        if getattr(self, "gpu_slice", None):
            state["slice"] = self.gpu_slice.__dict__
        if getattr(self, "profile_slug", ""):
            state["profile"] = self.profile_slug
        return state

    def clear_state(self):
        super().clear_state()
        self._release()

    def _release(self) -> None:
        if self.slices.release(self.slice_key):
            self.log.info("Released GPU slice of %s", self.slice_key)
        self.gpu_slice = None
        cg = CgroupLimits(self._cgroup_key)
        cg.kill_all()
        cg.remove()

    @property
    def _cgroup_key(self) -> str:
        # One hub's servers must never share a cgroup with another hub's on the same host (a
        # second hub, a test hub): releasing a server kills every process in its cgroup.
        hub = hashlib.sha256(str(Path(self.homes_root).resolve()).encode()).hexdigest()[:8]
        return f"{hub}-{self.user.name}--{self.name or 'default'}"

    # ------------------------------------------------------------------ environment
    def run_uid(self) -> int:
        """The unprivileged host uid this user's server runs as: ``uid_base + user id``."""
        return self.uid_base + int(self.user.id)

    def _software_paths(self) -> list[str]:
        return [sys.prefix, sys.base_prefix, *_source_roots(), *self.readonly_paths]

    def user_env(self, env):
        env["USER"] = self.user.name
        env["HOME"] = f"/home/{self.user.name}"
        env["SHELL"] = "/bin/bash"
        return env

    def get_env(self):
        env = super().get_env()
        env.update(
            PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            LANG=os.environ.get("LANG", "C.UTF-8"),
            JUPYTER_CONFIG_PATH=str(SERVER_CONFIG_DIR),
            JUPYTER_RUNTIME_DIR="/tmp/jupyter-runtime",
            JUPYTERHUB_ACTIVITY_INTERVAL=str(self.activity_interval_s),
            PYTHONNOUSERSITE="1",
        )
        slice_ = getattr(self, "gpu_slice", None)
        if slice_ is not None:
            env.update(slice_.cuda_env())
            if self.mps_pipe_directory:
                env["CUDA_MPS_PIPE_DIRECTORY"] = self.mps_pipe_directory
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""
        return env

    def ensure_home(self, uid: int) -> Path:
        home = Path(self.homes_root) / self.user.name
        is_new = not home.exists()
        home.mkdir(parents=True, exist_ok=True)
        if is_new and self.home_skeleton:
            copy_skeleton(Path(self.home_skeleton), home, uid if os.geteuid() == 0 else None)
        if os.geteuid() == 0:
            os.chown(home, uid, uid)
        home.chmod(0o700)
        return home

    def ensure_etc(self, uid: int) -> Path:
        """Write the sandbox's generated /etc/passwd, group and hosts for this user."""
        etc = Path(os.environ.get("ARENAHUB_DATA_DIR", "/var/lib/arenahub")) / "server-etc" / self.user.name
        etc.mkdir(parents=True, exist_ok=True, mode=0o755)
        files = make_etc_files(user=self.user.name, uid=uid, gid=uid, home=f"/home/{self.user.name}",
                               hostname=HOSTNAME, shell="/bin/bash")
        for name, text in files.items():
            (etc / name).write_text(text)
            (etc / name).chmod(0o644)
        return etc

    def make_preexec_fn(self, name):
        cgroup = self._cgroup if getattr(self, "_cgroup", None) else None

        def preexec():
            if cgroup is not None:
                cgroup.join()

        return preexec

    def build_sandbox(self, home: Path, etc: Path, uid: int, env: dict, argv: list[str]) -> list[str]:
        data_dir = os.environ.get("ARENAHUB_DATA_DIR", "")
        devices: list[str] = []
        extra: list[tuple[str, str]] = []
        if getattr(self, "gpu_slice", None) is not None:
            devices = [str(p) for p in sorted(Path("/dev").glob("nvidia*"))]
            if self.mps_pipe_directory:
                extra.append((self.mps_pipe_directory, self.mps_pipe_directory))
        nb = NotebookSandbox(
            home_host=str(home), home_inside=env["HOME"], env=env, argv=argv, uid=uid,
            etc_dir=str(etc), system_layout=read_system_layout(), software_paths=self._software_paths(),
            hidden_paths=[p for p in [data_dir, *self.hidden_paths] if p], device_paths=devices,
            extra_binds=extra, tmp_size_mib=self.tmp_size_mib, as_root=os.geteuid() == 0,
            bwrap=shutil.which(self.bwrap_path) or self.bwrap_path,
        )
        return build_bwrap_argv(make_notebook_spec(nb))

    # ------------------------------------------------------------------ lifecycle
    def _hub_metrics(self) -> HubMetrics:
        metrics = ensure_hub_metrics()
        metrics.ensure_pool_collector(_read_pool)
        return metrics

    async def start(self):
        """Start the server, counting the spawn, its duration and any failure's reason for /hub/metrics."""
        metrics = self._hub_metrics()
        began = time.monotonic()
        self.profile_slug = ""
        try:
            url = await self._start_on_profile()
        except BaseException as exc:
            metrics.spawn_failed(self.profile_slug or "unknown", _failure_reason(exc))
            raise
        metrics.spawn_succeeded(self.profile_slug, time.monotonic() - began)
        self.slices.profiles[self.slice_key] = self.profile_slug
        return url

    async def _start_on_profile(self):
        self._events: list[str] = []
        profile = self.chosen_profile()
        self.profile_slug = profile.slug
        self._event(f"Profile {profile.display_name}: {profile.summary()}")
        if profile.uses_gpu:
            try:
                self.gpu_slice = place_slice(profile.gpu_fraction, self.load_gpus(), self.slices.held)
            except NoSliceFree as e:
                raise web.HTTPError(409, f"{e}. Try again later or choose a smaller profile.") from None
            self.slices.held[self.slice_key] = self.gpu_slice
            self._event(f"GPU {self.gpu_slice.gpu_index}: {profile.gpu_fraction:g} slice reserved")
        try:
            return await self._start_sandboxed(profile)
        except BaseException:
            self._release()
            raise

    async def _start_sandboxed(self, profile: Profile):
        if self.port == 0:
            self.port = random_port()
        uid = self.run_uid()
        home = self.ensure_home(uid)
        etc = self.ensure_etc(uid)
        self._cgroup = None
        if self.enforce_cgroups:
            cg = CgroupLimits(self._cgroup_key)
            if cg.available:
                cg.ensure(Limits(int(profile.mem_gib * GIB), profile.cpu, profile.max_procs))
                self._cgroup = cg
            else:
                self.log.warning(
                    "cgroups are not writable here: memory, CPU and process limits are NOT "
                    "enforced for %s (run the hub as root on a cgroup-enabled kernel)", self._log_name)
        if os.geteuid() != 0:
            self.log.warning("Hub is not root: %s runs in a user namespace; its files on the host belong "
                             "to the hub's uid", self._log_name)
        env = self.get_env()
        culling = profile.kernel_culling()
        argv = self.build_sandbox(home, etc, uid, env, [*self.cmd, *self.get_args(), *culling.server_args()])
        if culling.idle_timeout_s:
            idle = culling.idle_timeout_s
            freed = "the GPU" if profile.uses_gpu else "their memory"
            self._event(f"Kernels idle for {_duration(idle)} are shut down to free {freed}; your server and "
                        "files stay")
        if profile.unattended_limit_s():
            self._event(f"With no notebook tab open for {_duration(profile.unattended_limit_s())}, your server "
                        "stops and its GPU slice goes to someone else; your files stay")
        log_path = self._server_log_path()
        self._event("Starting your sandboxed server")
        with open(log_path, "ab") as logf:
            self.proc = await asyncio.to_thread(
                _popen, argv, self.make_preexec_fn(self.user.name), logf)
        self.pid = self.proc.pid
        await self._wait_until_ready(log_path)
        self._event("Server is up")
        return ("127.0.0.1", self.port)

    def _server_log_path(self) -> Path:
        logs = Path(os.environ.get("ARENAHUB_DATA_DIR", "/var/lib/arenahub")) / "server-logs"
        logs.mkdir(parents=True, exist_ok=True, mode=0o700)
        return logs / f"{self.user.name}--{self.name or 'default'}.log"

    async def _wait_until_ready(self, log_path: Path) -> None:
        url = f"http://127.0.0.1:{self.port}{self.server.base_url}api"
        client = AsyncHTTPClient()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = _tail(log_path)
                raise web.HTTPError(500, f"The notebook server exited with status {self.proc.returncode}: {tail}")
            try:
                await client.fetch(url, request_timeout=2, raise_error=True)
                return
            except (ConnectionError, OSError, HTTPClientError):
                await asyncio.sleep(self.ready_poll_interval_s)
        raise TimeoutError(f"server did not answer within {self.start_timeout}s")

    def _event(self, message: str) -> None:
        self.log.info("%s: %s", self._log_name, message)
        self._events.append(message)

    async def progress(self):
        sent = 0
        while True:
            events = getattr(self, "_events", [])
            while sent < len(events):
                yield {"progress": min(95, 20 + 25 * sent), "message": events[sent]}
                sent += 1
            if self.ready or not self._spawn_pending:
                return
            await asyncio.sleep(0.1)

    async def poll(self):
        if self.proc is not None:
            status = self.proc.poll()
            if status is not None:
                self.clear_state()
            return status
        if not self.pid:
            self.clear_state()
            return 0
        if not _is_bwrap(self.pid):
            # Found after a hub restart, but the server is gone: free its slice.
            self.clear_state()
            return 0
        return None

    async def _signal(self, sig):
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            return False
        return True

    async def stop(self, now=False):
        await super().stop(now=now)
        self._release()
        await self._remove_cgroups()

    async def _remove_cgroups(self, timeout_s: float = 5.0) -> None:
        # A killed process stays in its cgroup until it is reaped, and rmdir fails while any
        # is left: wait for them (briefly), or the server's cgroups would be left behind.
        cg = CgroupLimits(self._cgroup_key)
        deadline = time.monotonic() + timeout_s
        while cg.pids() and time.monotonic() < deadline:
            cg.kill_all()
            await asyncio.sleep(0.05)
        cg.remove()
        left = [str(d) for d in cg.dirs.values() if d.exists()]
        if left:
            self.log.warning("cgroups of %s not removed (processes still in them): %s", self._log_name, left)


def _read_pool() -> PoolView:
    """The hub-wide slice table as /hub/metrics shows it (read at scrape time)."""
    table = VGPULocalSpawner.slices
    gpus = getattr(VGPULocalSpawner, "_gpus_cache", [])
    return PoolView(gpu_indices=[g.index for g in gpus],
                    slices=[(s.gpu_index, s.fraction) for s in list(table.held.values())],
                    server_profiles=dict(table.profiles))


def _duration(seconds: int) -> str:
    """'15 min' from 2 minutes up, '90 s' below."""
    return f"{seconds // 60} min" if seconds >= 120 else f"{seconds} s"


def _failure_reason(exc: BaseException) -> str:
    """A spawn failure's reason label (arenahub.spawner.metrics.SPAWN_FAILURE_REASONS)."""
    if isinstance(exc, web.HTTPError):
        return {409: "no-slice-free", 400: "bad-profile"}.get(exc.status_code, "server-exited")
    if isinstance(exc, TimeoutError):
        return "timeout"
    return "error"


def _popen(argv, preexec, logf):
    import subprocess

    return subprocess.Popen(argv, preexec_fn=preexec, start_new_session=True,
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT, env={})


def _is_bwrap(pid: int) -> bool:
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return os.path.basename(cmd) == b"bwrap"


def _tail(path: Path, n: int = 3) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no output)"
    return " | ".join(lines[-n:]) or "(no output)"


def _source_roots() -> list[str]:
    """Folders holding the arenahub sources (an editable install maps several)."""
    import arenahub

    roots = {str(Path(arenahub.__file__).resolve().parent.parent)}
    return sorted(roots)
