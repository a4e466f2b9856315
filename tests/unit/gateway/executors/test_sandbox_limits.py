"""Unit tests for cgroup detection and the rlimit plan of sandboxed runs."""

import resource

import pytest

from arenahub.gateway.executors.base import RunLimits
from arenahub.gateway.limits import CgroupMount, make_cgroup_layout, parse_mountinfo, parse_proc_cgroup, plan_rlimits

pytestmark = pytest.mark.unit

LIMITS = RunLimits(wall_s=60, mem_bytes=1 << 30, cpu_s=120, max_procs=64, disk_bytes=2 << 30)

HYBRID_MOUNTINFO = """\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
33 31 0:30 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
"""
HYBRID_SELF = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n0::/\n"
V2_MOUNTINFO = "25 20 0:22 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"


def test_mountinfo_lists_v1_controllers_and_the_v2_hierarchy():
    mounts = parse_mountinfo(HYBRID_MOUNTINFO)
    assert CgroupMount(1, "/sys/fs/cgroup/cpu,cpuacct", "/", frozenset({"cpu", "cpuacct"})) in mounts
    assert [m.mount_point for m in mounts if m.version == 2] == ["/sys/fs/cgroup/unified"]
    assert "systemd" in next(m for m in mounts if m.mount_point.endswith("systemd")).controllers


def test_proc_cgroup_maps_each_controller_to_its_path():
    paths = parse_proc_cgroup(HYBRID_SELF)
    assert paths["memory"] == "/process_api/abc" and paths["cpuacct"] == "/" and paths[""] == "/"


def test_v1_layout_puts_run_groups_below_the_supervisors_own_groups():
    layout = make_cgroup_layout(parse_mountinfo(HYBRID_MOUNTINFO), parse_proc_cgroup(HYBRID_SELF), frozenset())
    assert layout.version == 1
    assert layout.parents == {
        "memory": "/sys/fs/cgroup/memory/process_api/abc",
        "pids": "/sys/fs/cgroup/pids",
        "cpuacct": "/sys/fs/cgroup/cpu,cpuacct",
    }


def test_container_mounts_of_a_subtree_are_not_joined_twice():
    mounts = [CgroupMount(1, "/sys/fs/cgroup/memory", "/docker/x", frozenset({"memory"})),
              CgroupMount(1, "/sys/fs/cgroup/pids", "/docker/x", frozenset({"pids"})),
              CgroupMount(1, "/sys/fs/cgroup/cpuacct", "/docker/x", frozenset({"cpuacct"}))]
    own = {"memory": "/docker/x/gw", "pids": "/docker/x", "cpuacct": "/docker/x"}
    layout = make_cgroup_layout(mounts, own, frozenset())
    assert layout.parents["memory"] == "/sys/fs/cgroup/memory/gw"
    assert layout.parents["pids"] == "/sys/fs/cgroup/pids"


def test_pure_v2_host_uses_the_unified_hierarchy_when_memory_and_pids_are_delegated():
    mounts = parse_mountinfo(V2_MOUNTINFO)
    own = parse_proc_cgroup("0::/system.slice/arenahub-gateway.service\n")
    layout = make_cgroup_layout(mounts, own, frozenset({"cpu", "memory", "pids"}))
    assert layout.version == 2
    assert layout.parents == {"": "/sys/fs/cgroup/system.slice/arenahub-gateway.service"}
    assert make_cgroup_layout(mounts, own, frozenset({"cpu"})) is None


def test_rlimits_with_a_memory_cgroup_leave_address_space_alone():
    plan = plan_rlimits(LIMITS, has_memory_cgroup=True, has_gpus=False)
    assert plan[resource.RLIMIT_NPROC] == (64, 64)
    assert plan[resource.RLIMIT_CPU] == (120, 121)
    assert plan[resource.RLIMIT_FSIZE] == (2 << 30, 2 << 30)
    assert plan[resource.RLIMIT_CORE] == (0, 0)
    assert resource.RLIMIT_AS not in plan and resource.RLIMIT_DATA not in plan


@pytest.mark.parametrize("has_gpus, which", [(False, resource.RLIMIT_AS), (True, resource.RLIMIT_DATA)])
def test_rlimits_without_a_memory_cgroup_cap_memory_in_a_cuda_friendly_way(has_gpus, which):
    plan = plan_rlimits(LIMITS, has_memory_cgroup=False, has_gpus=has_gpus)
    assert plan[which] == (1 << 30, 1 << 30)
