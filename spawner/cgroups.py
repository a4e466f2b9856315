"""Per-server resource limits with Linux cgroups (v1 controllers or the v2 unified tree).

Each server gets ``arenahub/<key>`` under the memory, pids and cpu controllers. The child
process joins them before it executes bubblewrap, so everything the server starts is counted
and capped. Where the kernel or our privileges do not allow it, ``CgroupLimits.available``
is False and the spawner says so in its log instead of pretending limits hold.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
CPU_PERIOD_US = 100_000


@dataclass(frozen=True)
class Limits:
    mem_bytes: int
    cpu: float
    max_procs: int


def _own_cgroup_v1(controller: str) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctrls, path = line.split(":", 2)
        if controller in ctrls.split(","):
            return path
    return "/"


class CgroupLimits:
    """Creates, fills and removes the cgroups of one server."""

    def __init__(self, key: str, root: Path = ROOT, parent: str = "arenahub"):
        self.key = key
        self.root = root
        self.unified = (root / "cgroup.controllers").exists()
        if self.unified:
            self.dirs = {"unified": root / parent / key}
        else:
            self.dirs = {
                c: root / c / _own_cgroup_v1(c).lstrip("/") / parent / key
                for c in ("memory", "pids", "cpu")
            }

    @property
    def available(self) -> bool:
        """True when this process may create cgroups for servers."""
        try:
            for d in self.dirs.values():
                if not d.parent.parent.exists() or not os.access(d.parent.parent, os.W_OK):
                    return False
        except OSError:
            return False
        return True

    def ensure(self, limits: Limits) -> None:
        """Create the cgroups (safe to repeat) and write the limits."""
        for name, d in self.dirs.items():
            d.mkdir(parents=True, exist_ok=True)
        quota = str(int(limits.cpu * CPU_PERIOD_US))
        if self.unified:
            d = self.dirs["unified"]
            _write(d.parent / "cgroup.subtree_control", "+memory +pids +cpu", missing_ok=True)
            _write(d / "memory.max", str(limits.mem_bytes))
            _write(d / "memory.swap.max", "0", missing_ok=True)
            _write(d / "pids.max", str(limits.max_procs))
            _write(d / "cpu.max", f"{quota} {CPU_PERIOD_US}")
        else:
            _write(self.dirs["memory"] / "memory.limit_in_bytes", str(limits.mem_bytes))
            _write(self.dirs["memory"] / "memory.memsw.limit_in_bytes", str(limits.mem_bytes), missing_ok=True)
            _write(self.dirs["pids"] / "pids.max", str(limits.max_procs))
            _write(self.dirs["cpu"] / "cpu.cfs_period_us", str(CPU_PERIOD_US))
            _write(self.dirs["cpu"] / "cpu.cfs_quota_us", quota)

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (0: the calling process) into every cgroup. Used in preexec."""
        for d in self.dirs.values():
            _write(d / "cgroup.procs", str(pid or os.getpid()))

    def pids(self) -> set[int]:
        found: set[int] = set()
        for d in self.dirs.values():
            try:
                found.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except (FileNotFoundError, ValueError):
                continue
        return found

    def kill_all(self, sig: int = signal.SIGKILL) -> int:
        """Signal every process still in the server's cgroups; returns how many."""
        n = 0
        for pid in self.pids():
            try:
                os.kill(pid, sig)
                n += 1
            except ProcessLookupError:
                pass
        return n

    def remove(self) -> None:
        """Remove the (empty) cgroups; a busy one is left for the next cleanup."""
        for d in self.dirs.values():
            try:
                d.rmdir()
            except (FileNotFoundError, OSError):
                pass


def _write(path: Path, value: str, missing_ok: bool = False) -> None:
    try:
        path.write_text(value)
    except FileNotFoundError:
        if not missing_ok:
            raise
