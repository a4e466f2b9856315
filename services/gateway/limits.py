"""Resource limits of a sandboxed run: cgroup v1/v2 detection, per-run cgroups, and rlimits.

Where the host lets us create cgroups (root, cgroup v1 controllers or a delegated cgroup v2
subtree), each run gets its own group with memory.limit / pids.max; CPU time is read from the
group and enforced by the supervisor. rlimits are set in every case as a second line, and are
the only line where no cgroup can be created. The decisions are pure (``plan_rlimits``,
``parse_*``); ``JobCgroup`` does the file I/O.
"""

from __future__ import annotations

import os
import resource
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from arenahub.gateway.executors.base import RunLimits

# Controllers a run uses, by cgroup v1 name; v2 has "memory", "pids" and "cpu".
V1_CONTROLLERS = ("memory", "pids", "cpuacct")
V2_CONTROLLERS = ("memory", "pids", "cpu")
_UNLIMITED = resource.RLIM_INFINITY
# bwrap's monitor process and the sandbox's pid-1 reaper sit in the run's cgroup too.
SANDBOX_HELPER_TASKS = 2


@dataclass(frozen=True)
class CgroupMount:
    """One mounted cgroup hierarchy: version, mount point, the root it shows, its controllers."""

    version: int
    mount_point: str
    root: str
    controllers: frozenset[str]


@dataclass(frozen=True)
class CgroupLayout:
    """Where a run's groups are created: controller name -> parent folder (v1), or one v2 folder."""

    version: int
    parents: Mapping[str, str] = field(default_factory=dict)


def parse_mountinfo(text: str) -> list[CgroupMount]:
    """The cgroup hierarchies listed in a /proc/self/mountinfo text (see proc(5))."""
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3:
            continue
        fstype, super_options = tail[0], tail[2].split(",")
        if fstype == "cgroup":
            controllers = frozenset(o.removeprefix("name=") for o in super_options if o not in ("rw", "ro"))
            mounts.append(CgroupMount(1, fields[4], fields[3], controllers))
        elif fstype == "cgroup2":
            mounts.append(CgroupMount(2, fields[4], fields[3], frozenset()))
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Map each v1 controller (and "" for the v2 hierarchy) to this process's cgroup path."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            paths[controller.removeprefix("name=")] = parts[2]
    return paths


def make_cgroup_layout(
    mounts: list[CgroupMount], own_paths: Mapping[str, str], v2_controllers: frozenset[str]
) -> CgroupLayout | None:
    """Choose where run groups go: v1 when all of memory/pids/cpuacct are v1-mounted, else v2.

    ``own_paths`` is parse_proc_cgroup of the supervisor, ``v2_controllers`` the content of the
    v2 folder's cgroup.controllers. Returns None when neither offers memory and pids.
    """
    v1 = {c: m for m in mounts if m.version == 1 for c in m.controllers}
    if all(c in v1 and c in own_paths for c in V1_CONTROLLERS):
        parents = {c: _join_mount(v1[c], own_paths[c]) for c in V1_CONTROLLERS}
        return CgroupLayout(1, parents)
    v2 = next((m for m in mounts if m.version == 2), None)
    if v2 is not None and "" in own_paths and {"memory", "pids"} <= v2_controllers:
        return CgroupLayout(2, {"": _join_mount(v2, own_paths[""])})
    return None


def _join_mount(mount: CgroupMount, path: str) -> str:
    # A container may mount only a subtree: strip the part of our path the mount already shows.
    rel = path
    if mount.root != "/" and (path == mount.root or path.startswith(mount.root + "/")):
        rel = path[len(mount.root) :]
    return mount.mount_point.rstrip("/") + "/" + rel.strip("/") if rel.strip("/") else mount.mount_point


def cgroup_name(uid: int) -> str:
    """The name of a run's cgroup: by sandbox uid, which is unique on the host while the run lasts."""
    return f"arenahub-job-uid{uid}"


def plan_rlimits(limits: RunLimits, *, has_memory_cgroup: bool, has_gpus: bool) -> dict[int, tuple[int, int]]:
    """rlimits (resource id -> (soft, hard)) for the sandbox's processes.

    RLIMIT_CPU is per process (the cgroup total is the supervisor's job); RLIMIT_NPROC counts
    every task of the run's dedicated uid; RLIMIT_FSIZE caps any single file at the disk limit;
    core dumps are off. Memory goes to RLIMIT_AS only without a memory cgroup, and to
    RLIMIT_DATA instead when GPUs are used, because CUDA reserves terabytes of address space.
    """
    plan = {
        resource.RLIMIT_CPU: (limits.cpu_s, limits.cpu_s + 1),
        resource.RLIMIT_NPROC: (limits.max_procs, limits.max_procs),
        resource.RLIMIT_FSIZE: (limits.disk_bytes, limits.disk_bytes),
        resource.RLIMIT_CORE: (0, 0),
    }
    if not has_memory_cgroup:
        which = resource.RLIMIT_DATA if has_gpus else resource.RLIMIT_AS
        plan[which] = (limits.mem_bytes, limits.mem_bytes)
    return plan


def load_cgroup_layout() -> CgroupLayout | None:
    """The layout for this host, read from /proc; None where cgroups cannot be used."""
    try:
        mounts = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
        own = parse_proc_cgroup(Path("/proc/self/cgroup").read_text())
    except OSError:
        return None
    v2_controllers: frozenset[str] = frozenset()
    v2 = next((m for m in mounts if m.version == 2), None)
    if v2 is not None and "" in own:
        try:
            text = (Path(_join_mount(v2, own[""])) / "cgroup.controllers").read_text()
            v2_controllers = frozenset(text.split())
        except OSError:
            pass
    return make_cgroup_layout(mounts, own, v2_controllers)


class CgroupError(RuntimeError):
    """A run's cgroup could not be created or configured."""


class JobCgroup:
    """The cgroup(s) of one run: create with limits, add the sandbox, read usage, kill, remove."""

    def __init__(self, layout: CgroupLayout, name: str):
        self.layout = layout
        self.dirs = {c: Path(parent) / name for c, parent in layout.parents.items()}

    def create(self, limits: RunLimits) -> None:
        """Create the groups and write the memory and process limits; raises CgroupError."""
        try:
            if self.layout.version == 2:
                parent = Path(self.layout.parents[""])
                _write_if_needed(parent / "cgroup.subtree_control", "+memory +pids +cpu")
            self.remove(timeout_s=1.0)  # a group left by a lost run would carry its OOM counters
            for folder in self.dirs.values():
                folder.mkdir()
            if self.layout.version == 1:
                memory = self.dirs["memory"]
                (memory / "memory.limit_in_bytes").write_text(str(limits.mem_bytes))
                if (memory / "memory.memsw.limit_in_bytes").exists():  # no swapping around the limit
                    (memory / "memory.memsw.limit_in_bytes").write_text(str(limits.mem_bytes))
                (self.dirs["pids"] / "pids.max").write_text(str(limits.max_procs + SANDBOX_HELPER_TASKS))
            else:
                folder = self.dirs[""]
                (folder / "memory.max").write_text(str(limits.mem_bytes))
                if (folder / "memory.swap.max").exists():
                    (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(limits.max_procs + SANDBOX_HELPER_TASKS))
        except OSError as exc:
            self.remove(timeout_s=0)
            raise CgroupError(f"cannot set up cgroup {sorted(map(str, self.dirs.values()))}: {exc}") from exc

    def add_self(self) -> None:
        """Move the calling process into every group (used between fork and exec)."""
        for folder in self.dirs.values():
            (folder / "cgroup.procs").write_text("0")

    def cpu_usage_s(self) -> float:
        """CPU seconds (user + system) used by every process of the run so far."""
        try:
            if self.layout.version == 1:
                return int((self.dirs["cpuacct"] / "cpuacct.usage").read_text()) / 1e9
            for line in (self.dirs[""] / "cpu.stat").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "usage_usec":
                    return int(value) / 1e6
        except (OSError, ValueError):
            pass
        return 0.0

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process of the run for exceeding the memory limit."""
        name = "memory.oom_control" if self.layout.version == 1 else "memory.events"
        folder = self.dirs["memory" if self.layout.version == 1 else ""]
        try:
            for line in (folder / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except (OSError, ValueError):
            pass
        return False

    def pids(self) -> list[int]:
        """Host pids of every process still in the run's groups."""
        found: set[int] = set()
        for folder in self.dirs.values():
            try:
                found.update(int(p) for p in (folder / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return sorted(found)

    def kill_all(self) -> None:
        """SIGKILL every process in the groups (v2: cgroup.kill where the kernel has it)."""
        kill_file = self.dirs.get("", Path("/nonexistent")) / "cgroup.kill"
        if kill_file.exists():
            kill_file.write_text("1")
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def remove(self, timeout_s: float = 2.0) -> bool:
        """Kill what is left, then remove the groups; True when all are gone."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = []
            for folder in self.dirs.values():
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:  # EBUSY while tasks remain; anything else is reported by the return value
                    left.append(folder)
            if not left or time.monotonic() >= deadline:
                return not left
            self.kill_all()
            time.sleep(0.05)


def _write_if_needed(path: Path, value: str) -> None:
    wanted = {v.lstrip("+") for v in value.split()}
    if not wanted <= set(path.read_text().split()):
        path.write_text(value)


def apply_rlimits(plan: Mapping[int, tuple[int, int]]) -> None:
    """Set each rlimit of ``plan`` on the calling process (hard limits never raised above the current)."""
    for which, (soft, hard) in plan.items():
        _, current_hard = resource.getrlimit(which)
        if current_hard != _UNLIMITED:
            hard = min(hard, current_hard)
            soft = min(soft, hard)
        resource.setrlimit(which, (soft, hard))
