"""A spawned server's processes sit in cgroups that carry its profile's memory, CPU and process limits.

The limits are read the way the kernel applies them: from /proc/<pid>/cgroup of the real
server's processes to the cgroup folders under the mounted hierarchies (cgroup v1 controllers
or the v2 unified tree), never from the spawner's own bookkeeping.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from arenahub.gateway.limits import CgroupMount, parse_mountinfo, parse_proc_cgroup

pytestmark = pytest.mark.integration

GIB = 1024**3
# Limits no default profile has, so a server that fell back to another profile cannot pass.
PROFILES = [
    {"slug": "odd-quarter", "display_name": "0.25 GPU", "gpu_fraction": 0.25, "mem_gib": 3, "cpu": 1.5,
     "max_procs": 300, "default": True},
]
NOT_ENFORCED = "memory, CPU and process limits are NOT enforced"  # VGPULocalSpawner's log line


def _folder(mounts: list[CgroupMount], controller: str, paths: dict[str, str]) -> Path | None:
    """The cgroup folder of ``controller`` (v1), or of the v2 tree when controller is ""."""
    version = 2 if controller == "" else 1
    for m in mounts:
        if m.version == version and (version == 2 or controller in m.controllers) and controller in paths:
            inside = paths[controller]
            relative = inside[len(m.root):] if m.root != "/" and inside.startswith(m.root) else inside
            return Path(m.mount_point) / relative.lstrip("/")
    return None


def read_limits(pid: int) -> dict[str, object]:
    """Memory bytes, CPU (quota, period) and pids.max of the cgroups ``pid`` belongs to."""
    mounts = parse_mountinfo(Path("/proc/self/mountinfo").read_text())
    paths = parse_proc_cgroup(Path(f"/proc/{pid}/cgroup").read_text())
    memory = _folder(mounts, "memory", paths)
    if memory is not None and (memory / "memory.limit_in_bytes").exists():  # cgroup v1
        cpu = _folder(mounts, "cpu", paths)
        return {
            "folders": {memory, cpu, _folder(mounts, "pids", paths)},
            "mem_bytes": int((memory / "memory.limit_in_bytes").read_text()),
            "cpu": (int((cpu / "cpu.cfs_quota_us").read_text()), int((cpu / "cpu.cfs_period_us").read_text())),
            "pids_max": (_folder(mounts, "pids", paths) / "pids.max").read_text().strip(),
        }
    unified = _folder(mounts, "", paths)
    quota, period = (unified / "cpu.max").read_text().split()
    return {
        "folders": {unified},
        "mem_bytes": int((unified / "memory.max").read_text()),
        "cpu": (int(quota), int(period)),
        "pids_max": (unified / "pids.max").read_text().strip(),
    }


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (the sandbox, jupyter-server, its kernels)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for task in Path(f"/proc/{p}/task").iterdir():
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                continue
    return found


def test_a_spawned_servers_processes_are_capped_by_its_profiles_cgroup_limits(make_hub):
    hub = make_hub({"profiles": PROFILES})
    token = hub.user_token("capped")
    with hub.api(token) as api:
        r = api.post("/users/capped/server", json={"user_options": {"profile": "odd-quarter"}})
    assert r.status_code in (201, 202), r.text
    hub.wait_ready("capped")
    log = hub.log_path.read_text(errors="replace")
    if NOT_ENFORCED in log:  # only where the spawner itself says it could not apply limits
        reason = next(line for line in log.splitlines() if NOT_ENFORCED in line)
        pytest.skip(f"the spawner reports cgroups unavailable on this host: {reason.strip()}")
    with hub.api() as api:
        pid = api.get("/users/capped").json()["servers"][""]["state"]["pid"]

    processes = descendants(pid)
    assert len(processes) >= 2, "bwrap and the jupyter-server below it"
    limits = read_limits(pid)
    assert limits["mem_bytes"] == 3 * GIB
    quota, period = limits["cpu"]
    assert quota / period == pytest.approx(1.5)
    assert limits["pids_max"] == "300"
    folders = limits.pop("folders")
    assert all(str(f).endswith("--default") and "/arenahub/" in str(f) for f in folders), folders
    # every process of the server is in the same groups, so nothing it starts escapes the caps
    for p in processes:
        assert read_limits(p)["folders"] == folders, f"process {p} is outside the server's cgroups"

    with hub.api() as api:
        assert api.delete("/users/capped/server").status_code in (202, 204)
    hub.wait_stopped("capped")
    assert not any(f.exists() for f in folders), "a stopped server's cgroups are removed"
