"""What a job's sandbox looks like and how its end is judged: RunSpec -> SandboxSpec, exit -> status; pure."""

from __future__ import annotations

import re
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from arenahub.core.bwrap import Bind, SandboxSpec, Tmpfs, make_system_mounts, setpriv_argv
from arenahub.core.bwrap import make_etc_files as core_etc_files
from arenahub.gateway.executors.base import RunLimits, RunSpec

WORKSPACE = "/workspace"  # the job's writable copy of its code, and its working directory
SANDBOX_HOSTNAME = "sandbox"
SANDBOX_USER = "sandbox"
JOB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
# Mount targets a dataset may not take over: the sandbox's own folders and the system.
RESERVED_TARGETS = ("/workspace", "/tmp", "/proc", "/dev", "/etc", "/usr", "/bin", "/sbin",
                    "/lib", "/lib32", "/lib64", "/libx32", "/run", "/sys", "/root")
# Set by the executor from the placement; a spec may not override them (ARENAHUB_JOB_ID only with its own id).
RESERVED_ENV = ("CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER", "NVIDIA_VISIBLE_DEVICES", "ARENAHUB_GPUS")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Device nodes every CUDA program needs besides its own /dev/nvidiaN (those that exist are bound).
NVIDIA_CONTROL_NODES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")


@dataclass(frozen=True)
class GpuDevice:
    """A physical GPU: index as placed by the gateway, device minor (/dev/nvidiaN) and UUID."""

    index: int
    minor: int
    uuid: str


@dataclass(frozen=True)
class JobSandboxInputs:
    """Everything besides the RunSpec that shapes a job's sandbox, read from the host by the caller."""

    spec: RunSpec
    work_dir: str  # host folder holding the writable code copy
    etc_dir: str  # host folder with the generated passwd, group and hosts files
    uid: int  # dedicated host uid the job runs as
    gid: int
    system_layout: Mapping[str, str | None]  # see arenahub.core.bwrap.make_system_mounts
    python_paths: tuple[str, ...]  # interpreter and library folders, bound read-only at the same path
    gpu_devices: tuple[GpuDevice, ...] | None  # None: no NVIDIA driver on this host
    gpu_control_nodes: tuple[str, ...]  # those of NVIDIA_CONTROL_NODES that exist
    setpriv: str = "/usr/bin/setpriv"
    bwrap: str = "/usr/bin/bwrap"
    status_fd: int | None = None
    seccomp_fd: int | None = None


def validate_run_spec(spec: RunSpec) -> None:
    """Raise ValueError, saying what is wrong and what to do, when a RunSpec cannot be run."""
    if not JOB_ID_PATTERN.match(spec.job_id):
        raise ValueError(f"job_id {spec.job_id!r} must be 1-128 letters, digits, '_', '.' or '-' (not first).")
    if not spec.argv or any("\0" in a for a in spec.argv):
        raise ValueError("argv must name a command to run, e.g. ['python', 'train.py'].")
    for name, value in vars(spec.limits).items():
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"limits.{name} must be a positive integer, got {value!r}.")
    if any(g < 0 for g in spec.gpus) or len(set(spec.gpus)) != len(spec.gpus):
        raise ValueError(f"gpus must be distinct GPU indices >= 0, got {spec.gpus}.")
    targets = [m.target for m in spec.mounts]
    for mount in spec.mounts:
        target = PurePosixPath(mount.target)
        if not target.is_absolute() or ".." in target.parts or str(target) == "/":
            raise ValueError(f"Mount target {mount.target!r} must be an absolute folder below /, without '..'.")
        clash = next((r for r in RESERVED_TARGETS if _overlaps(str(target), r)), None)
        if clash:
            raise ValueError(f"Mount target {mount.target} overlaps the sandbox folder {clash}; use e.g. /data/...")
        if targets.count(mount.target) > 1:
            raise ValueError(f"Two mounts share the target {mount.target}.")
    for name, value in spec.env.items():
        if not _ENV_NAME.match(name) or "\0" in value:
            raise ValueError(f"Environment variable {name!r} is not a valid NAME=value pair.")
        if name in RESERVED_ENV or (name == "ARENAHUB_JOB_ID" and value != spec.job_id):
            raise ValueError(f"Environment variable {name} is set by the executor and cannot be overridden.")


def _overlaps(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def make_job_env(inputs: JobSandboxInputs, tmp_path: str = "/tmp") -> tuple[tuple[str, str], ...]:
    """The job's whole environment: fixed basics, GPU selection, then the spec's extra variables."""
    spec = inputs.spec
    bin_dirs = [f"{p}/bin" for p in inputs.python_paths]
    env = {
        "PATH": ":".join([*bin_dirs, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": tmp_path,
        "TMPDIR": tmp_path,
        "USER": SANDBOX_USER,
        "LOGNAME": SANDBOX_USER,
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",  # so lines reach the log as they are printed
        "ARENAHUB_JOB_ID": spec.job_id,
        "ARENAHUB_GPUS": ",".join(map(str, spec.gpus)),
        "CUDA_DEVICE_ORDER": "PCI_BUS_ID",
    }
    if inputs.gpu_devices is not None and spec.gpus:
        # Only the placed GPUs' device nodes exist in the sandbox, so CUDA numbers them 0..n-1;
        # UUIDs select the right ones whatever that numbering is.
        env["CUDA_VISIBLE_DEVICES"] = ",".join(d.uuid for d in inputs.gpu_devices)
    else:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(map(str, spec.gpus))
    env.update(spec.env)
    return tuple(env.items())


def make_job_sandbox(inputs: JobSandboxInputs) -> SandboxSpec:
    """The bubblewrap sandbox of one job: no network, own PID/IPC/UTS namespaces, only what it needs.

    Visible: the system folders and python read-only, the datasets read-only, the code copy
    writable at /workspace, size-capped /tmp and /dev/shm, generated /etc/passwd|group|hosts, and
    the placed GPUs' device nodes. The command runs through setpriv as the dedicated uid with
    no capabilities and no supplementary groups.
    """
    spec, limits = inputs.spec, inputs.spec.limits
    system_binds, links = make_system_mounts(inputs.system_layout)
    binds = list(system_binds)
    binds += [Bind(p, p) for p in inputs.python_paths if not _covered(p, system_binds)]
    binds += [Bind(f"{inputs.etc_dir}/{name}", f"/etc/{name}") for name in ("passwd", "group", "hosts")]
    binds += [Bind(str(m.host), m.target, writable=m.writable) for m in spec.mounts]
    binds.append(Bind(inputs.work_dir, WORKSPACE, writable=True))
    if inputs.gpu_devices and spec.gpus:
        nodes = [*inputs.gpu_control_nodes, *(f"/dev/nvidia{d.minor}" for d in inputs.gpu_devices)]
        binds += [Bind(n, n, device=True, required=False) for n in nodes]
    tmp_bytes = tmpfs_bytes(limits)
    command = setpriv_argv(inputs.uid, inputs.gid, spec.argv, inputs.setpriv)
    return SandboxSpec(
        argv=command,
        binds=tuple(binds),
        tmpfs=(Tmpfs("/tmp", tmp_bytes, 0o1777), Tmpfs("/dev/shm", tmp_bytes, 0o1777)),
        symlinks=links,
        env=make_job_env(inputs),
        chdir=WORKSPACE,
        hostname=SANDBOX_HOSTNAME,
        # bwrap runs as root without a user namespace; the command keeps only what setpriv needs
        # to become the sandbox uid, then setpriv drops those too.
        cap_add=("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"),
        json_status_fd=inputs.status_fd,
        seccomp_fd=inputs.seccomp_fd,
        bwrap=inputs.bwrap,
    )


def _covered(path: str, binds: tuple[Bind, ...]) -> bool:
    return any(path == b.target or path.startswith(b.target.rstrip("/") + "/") for b in binds if b.required)


def tmpfs_bytes(limits: RunLimits) -> int:
    """Size cap of /tmp and of /dev/shm: the disk limit, but never more than the memory limit."""
    return min(limits.disk_bytes, limits.mem_bytes)


def make_etc_files(uid: int, gid: int) -> dict[str, str]:
    """The sandbox's /etc/passwd, /etc/group and /etc/hosts (no host user names, localhost only)."""
    return core_etc_files(user=SANDBOX_USER, uid=uid, gid=gid, home="/tmp", hostname=SANDBOX_HOSTNAME)


@dataclass(frozen=True)
class RunEnding:
    """What the supervisor observed when a run ended; decide_result turns it into a status."""

    exit_code: int | None
    cancelled: bool = False
    cancel_reason: str = "cancelled on request"
    timed_out: bool = False
    cpu_exceeded: bool = False
    disk_exceeded: bool = False
    oom_killed: bool = False
    setup_error: str = ""


def decide_result(ending: RunEnding, limits: RunLimits) -> tuple[str, str]:
    """(status, reason) of a run; the reason is a sentence a participant can act on."""
    if ending.setup_error:
        return "failed", f"The sandbox could not start: {ending.setup_error}"
    if ending.cancelled:
        return "cancelled", ending.cancel_reason
    if ending.timed_out:
        return "timeout", f"Time limit of {limits.wall_s} s reached; the job and all its processes were stopped."
    code = ending.exit_code
    sig = code - 128 if code is not None and code > 128 else None
    if ending.cpu_exceeded or sig == signal.SIGXCPU:
        return "failed", f"CPU-time limit of {limits.cpu_s} s reached; the job was stopped."
    if ending.disk_exceeded or sig == signal.SIGXFSZ:
        return "failed", f"Disk limit of {_human(limits.disk_bytes)} reached in /workspace; the job was stopped."
    if ending.oom_killed:
        return "failed", f"Memory limit of {_human(limits.mem_bytes)} reached; the kernel stopped the job."
    if code == 0:
        return "succeeded", "The job finished with exit code 0."
    if code is None:
        return "failed", "The job ended without an exit status."
    if sig is not None and 0 < sig < 65:
        return "failed", f"The job was killed by signal {sig} ({_signal_name(sig)})."
    return "failed", f"The job exited with code {code}."


def describe_limits(limits: RunLimits) -> str:
    """The limits in words, for the first line of a job's log."""
    return (
        f"limits: {limits.wall_s} s wall clock, {limits.cpu_s} s CPU, {_human(limits.mem_bytes)} memory, "
        f"{limits.max_procs} processes/threads, {_human(limits.disk_bytes)} disk"
    )


def _signal_name(sig: int) -> str:
    try:
        return signal.Signals(sig).name
    except ValueError:
        return "unknown"


def _human(n: int) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"
