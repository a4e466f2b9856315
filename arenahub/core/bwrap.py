"""Builds bubblewrap (``bwrap``) command lines from a frozen sandbox description; pure, no I/O.

The job executor and the notebook spawner both describe a sandbox as a ``SandboxSpec`` and turn it
into an argv with ``build_bwrap_argv``. Reading the host (which system folders are symlinks, which
GPUs exist) is the caller's job; the results come in as plain values.
See bwrap(1) for the meaning of each option.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

# Top-level system folders a sandbox needs to run programs; on merged-/usr hosts most are symlinks.
DEFAULT_SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")

# The /etc subset programs need to start (dynamic linker, alternatives links, time zone, fonts).
# Never /etc/passwd, /etc/shadow or /etc/hosts from the host: callers generate their own.
DEFAULT_ETC_PATHS = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/alternatives",
    "/etc/localtime",
    "/etc/fonts",
    "/etc/mime.types",
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CAP_NAME = re.compile(r"^CAP_[A-Z_]+$")


@dataclass(frozen=True)
class Bind:
    """A host path made visible at ``target`` (read-only unless ``writable``)."""

    source: str
    target: str
    writable: bool = False
    device: bool = False  # --dev-bind: device nodes stay usable
    required: bool = True  # False: the *-try variant, skipped when the source is missing


@dataclass(frozen=True)
class Tmpfs:
    """A fresh tmpfs at ``target``, capped at ``size_bytes`` (None: the kernel default, half of RAM)."""

    target: str
    size_bytes: int | None = None
    mode: int = 0o755


@dataclass(frozen=True)
class Symlink:
    """A symlink created at ``target`` that points to ``link_text``."""

    link_text: str
    target: str


@dataclass(frozen=True)
class SandboxSpec:
    """Everything bwrap needs to know about one sandbox; turn it into an argv with build_bwrap_argv."""

    argv: tuple[str, ...]
    binds: tuple[Bind, ...] = ()
    tmpfs: tuple[Tmpfs, ...] = ()
    symlinks: tuple[Symlink, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # the whole environment: bwrap starts from --clearenv
    chdir: str = "/"
    hostname: str | None = "sandbox"  # needs unshare_uts
    proc: str | None = "/proc"  # a procfs of the sandbox's own PID namespace
    dev: str | None = "/dev"  # a minimal /dev: null, zero, full, random, urandom, tty, pts
    unshare_net: bool = True
    unshare_pid: bool = True
    unshare_ipc: bool = True
    unshare_uts: bool = True
    unshare_cgroup: bool = True
    unshare_user: bool = False
    uid: int | None = None  # the uid inside a user namespace (needs unshare_user)
    gid: int | None = None
    new_session: bool = True  # setsid(): the sandbox cannot push input into the caller's terminal
    die_with_parent: bool = True
    cap_add: tuple[str, ...] | None = None  # None: bwrap's default; a tuple: drop ALL, then add these
    json_status_fd: int | None = None
    seccomp_fd: int | None = None
    bwrap: str = "/usr/bin/bwrap"


def make_system_mounts(
    layout: Mapping[str, str | None], etc_paths: Iterable[str] = DEFAULT_ETC_PATHS
) -> tuple[tuple[Bind, ...], tuple[Symlink, ...]]:
    """Read-only binds and symlinks that expose the host's programs and libraries.

    ``layout`` maps each system folder that exists on the host (see DEFAULT_SYSTEM_PATHS) to the
    text of its symlink, or to None when it is a real folder; missing folders are left out.
    ``etc_paths`` are bound read-only when they exist.
    """
    binds: list[Bind] = []
    links: list[Symlink] = []
    for path, link_text in sorted(layout.items()):
        if link_text is None:
            binds.append(Bind(path, path))
        else:
            links.append(Symlink(link_text, path))
    binds.extend(Bind(path, path, required=False) for path in etc_paths)
    return tuple(binds), tuple(links)


def build_bwrap_argv(spec: SandboxSpec) -> list[str]:
    """The full bwrap argv (program first) for ``spec``; raises ValueError on an invalid spec."""
    _check_spec(spec)
    argv = [spec.bwrap]
    argv += _namespace_args(spec)
    argv += _mount_args(spec)
    argv += ["--chdir", spec.chdir, "--clearenv"]
    for name, value in spec.env:
        argv += ["--setenv", name, value]
    if spec.json_status_fd is not None:
        argv += ["--json-status-fd", str(spec.json_status_fd)]
    if spec.seccomp_fd is not None:
        argv += ["--seccomp", str(spec.seccomp_fd)]
    return [*argv, "--", *spec.argv]


def _namespace_args(spec: SandboxSpec) -> list[str]:
    args: list[str] = []
    for wanted, flag in (
        (spec.unshare_user, "--unshare-user"),
        (spec.unshare_net, "--unshare-net"),
        (spec.unshare_pid, "--unshare-pid"),
        (spec.unshare_ipc, "--unshare-ipc"),
        (spec.unshare_uts, "--unshare-uts"),
        (spec.unshare_cgroup, "--unshare-cgroup-try"),
    ):
        if wanted:
            args.append(flag)
    if spec.uid is not None:
        args += ["--uid", str(spec.uid)]
    if spec.gid is not None:
        args += ["--gid", str(spec.gid)]
    if spec.hostname is not None:
        args += ["--hostname", spec.hostname]
    if spec.new_session:
        args.append("--new-session")
    if spec.die_with_parent:
        args.append("--die-with-parent")
    if spec.cap_add is not None:
        args += ["--cap-drop", "ALL"]
        for cap in spec.cap_add:
            args += ["--cap-add", cap]
    return args


def _mount_args(spec: SandboxSpec) -> list[str]:
    """Mount operations ordered parents first, with every new parent folder created mode 0755.

    bwrap creates missing parents of a mount point mode 0700, which an unprivileged sandbox user
    could not traverse; creating them explicitly keeps e.g. /root/.pyenv/versions/X reachable.
    """
    ops: list[tuple[str, object]] = []
    if spec.proc is not None:
        ops.append((spec.proc, "proc"))
    if spec.dev is not None:
        ops.append((spec.dev, "dev"))
    ops += [(t.target, t) for t in spec.tmpfs]
    ops += [(s.target, s) for s in spec.symlinks]
    ops += [(b.target, b) for b in spec.binds]
    ops.sort(key=lambda op: (_depth(op[0]), isinstance(op[1], Bind) and op[1].device))

    host_backed: list[str] = []  # mount points whose content comes from the host (cannot mkdir in)
    known: set[str] = {"/"}
    args: list[str] = []
    for target, op in ops:
        for parent in _parents(target):
            if parent in known or any(_is_within(parent, root) for root in host_backed):
                continue
            args += ["--perms", "0755", "--dir", parent]
            known.add(parent)
        known.add(target)
        if op == "proc":
            args += ["--proc", target]
        elif op == "dev":
            args += ["--dev", target]
        elif isinstance(op, Tmpfs):
            args += ["--perms", format(op.mode, "04o")]
            if op.size_bytes is not None:
                args += ["--size", str(op.size_bytes)]
            args += ["--tmpfs", target]
        elif isinstance(op, Symlink):
            args += ["--symlink", op.link_text, target]
        elif isinstance(op, Bind):
            args += [_bind_flag(op), op.source, target]
            host_backed.append(target)
    return args


def _bind_flag(bind: Bind) -> str:
    flag = "--dev-bind" if bind.device else ("--bind" if bind.writable else "--ro-bind")
    return flag if bind.required else flag + "-try"


def _check_spec(spec: SandboxSpec) -> None:
    if not spec.argv:
        raise ValueError("The sandbox has no command to run: argv is empty.")
    targets = [b.target for b in spec.binds] + [t.target for t in spec.tmpfs]
    targets += [s.target for s in spec.symlinks] + [p for p in (spec.proc, spec.dev) if p]
    for path in [*targets, spec.chdir]:
        _check_path(path)
    for bind in spec.binds:
        _check_path(bind.source)
    duplicates = sorted({t for t in targets if targets.count(t) > 1})
    if duplicates:
        raise ValueError(f"Two mounts share the target {duplicates[0]}; give each mount its own folder.")
    for tmpfs in spec.tmpfs:
        if tmpfs.size_bytes is not None and tmpfs.size_bytes <= 0:
            raise ValueError(f"tmpfs {tmpfs.target}: size_bytes must be positive, got {tmpfs.size_bytes}.")
    for name, value in spec.env:
        if not _ENV_NAME.match(name) or "\0" in value:
            raise ValueError(f"Environment variable {name!r} is not a valid name=value pair.")
    if (spec.uid is not None or spec.gid is not None) and not spec.unshare_user:
        raise ValueError("uid/gid inside the sandbox need unshare_user=True (bwrap --uid needs a user namespace).")
    if spec.hostname is not None and not spec.unshare_uts:
        raise ValueError("hostname needs unshare_uts=True (bwrap --hostname needs a UTS namespace).")
    for cap in spec.cap_add or ():
        if not _CAP_NAME.match(cap):
            raise ValueError(f"Capability {cap!r} is not a name like CAP_SETUID.")


def _check_path(path: str) -> None:
    pure = PurePosixPath(path)
    if not pure.is_absolute() or ".." in pure.parts or "\0" in path:
        raise ValueError(f"Sandbox path {path!r} must be absolute, without '..'.")


def _depth(path: str) -> int:
    return len(PurePosixPath(path).parts)


def _parents(path: str) -> list[str]:
    return [str(p) for p in reversed(PurePosixPath(path).parents) if str(p) != "/"]


def _is_within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


# --- seccomp: refuse the kernel keyring syscalls -------------------------------------------------
# A sandbox uid is reused by later jobs; its per-uid keyring would outlive a job, so jobs get no
# keyring access at all. Linux ABI numbers from arch/x86/entry/syscalls/syscall_64.tbl and
# include/uapi/asm-generic/unistd.h; AUDIT_ARCH values from include/uapi/linux/audit.h.
KEYRING_SYSCALLS = {
    "x86_64": (0xC000003E, (248, 249, 250)),  # add_key, request_key, keyctl
    "aarch64": (0xC00000B7, (217, 218, 219)),
}
_X32_SYSCALL_BIT = 0x40000000
_RET_ALLOW, _RET_ERRNO = 0x7FFF0000, 0x00050000
_LD_W_ABS, _JEQ_K, _JGE_K, _RET_K = 0x20, 0x15, 0x35, 0x06


def build_keyring_seccomp(machine: str, errno: int = 1) -> bytes:
    """A classic-BPF seccomp program (for ``bwrap --seccomp FD``) refusing keyring syscalls.

    Syscalls of another ABI (i386, x32) are refused too, so the filter cannot be sidestepped.
    ``machine`` is ``platform.machine()``; raises ValueError for an architecture without a table.
    """
    if machine not in KEYRING_SYSCALLS:
        raise ValueError(f"No seccomp table for {machine!r}; known: {', '.join(sorted(KEYRING_SYSCALLS))}.")
    arch, numbers = KEYRING_SYSCALLS[machine]
    deny = _RET_ERRNO | (errno & 0xFFFF)
    n = len(numbers)
    prog = [
        (_LD_W_ABS, 0, 0, 4),  # seccomp_data.arch
        (_JEQ_K, 1, 0, arch),
        (_RET_K, 0, 0, _RET_ERRNO | 38),  # another ABI: ENOSYS
        (_LD_W_ABS, 0, 0, 0),  # seccomp_data.nr
        (_JGE_K, n + 1, 0, _X32_SYSCALL_BIT),  # x32 syscalls on x86_64: deny
    ]
    prog += [(_JEQ_K, n - i, 0, nr) for i, nr in enumerate(numbers)]
    prog += [(_RET_K, 0, 0, _RET_ALLOW), (_RET_K, 0, 0, deny)]
    return b"".join(struct.pack("<HBBI", *insn) for insn in prog)


def make_etc_files(*, user: str, uid: int, gid: int, home: str, hostname: str,
                   shell: str = "/bin/sh") -> dict[str, str]:
    """A sandbox's /etc/passwd, /etc/group and /etc/hosts: no host user names, localhost only."""
    return {
        "passwd": (
            "root:x:0:0:root:/root:/usr/sbin/nologin\n"
            f"{user}:x:{uid}:{gid}:{user}:{home}:{shell}\n"
            "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
        ),
        "group": f"root:x:0:\n{user}:x:{gid}:\nnogroup:x:65534:\n",
        "hosts": f"127.0.0.1\tlocalhost {hostname}\n::1\tlocalhost ip6-localhost\n",
    }


def setpriv_argv(uid: int, gid: int, argv: Iterable[str], setpriv: str = "/usr/bin/setpriv") -> tuple[str, ...]:
    """Prefix ``argv`` with setpriv so it runs as ``uid:gid`` with no groups and no capabilities.

    Used when bwrap runs as root without a user namespace (so it can mount software a
    non-root uid could not reach) and the sandboxed program must not stay root.
    """
    return (setpriv, f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--", *argv)
