"""Pure builder of the bubblewrap command line that isolates one user's notebook server.

The server shares the host network (the proxy must reach it) but nothing else: it sees the
system's read-only software, its own home read-write at ``/home/<name>``, a private ``/tmp``
and its own process tree. Other homes, the hub's data directory and secrets are simply not
mounted, so they do not exist inside the sandbox.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

# Folders of a Debian-like system that software inside the sandbox needs, read-only.
SYSTEM_DIRS = ("/usr", "/etc", "/opt")
# Merged-/usr systems make these symlinks into /usr; others have real folders.
USR_LINKS = ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32")


@dataclass(frozen=True)
class NotebookSandbox:
    """Everything that decides what one notebook server can see."""

    home_host: str                       # the user's persistent home on the host
    home_inside: str                     # where it appears inside, e.g. /home/alice
    env: Mapping[str, str]               # the complete environment (built from scratch)
    argv: Sequence[str]                  # the server command
    readonly_paths: Sequence[str] = ()   # software the server needs: the Python prefix, venv, sources
    hidden_paths: Sequence[str] = ()     # host folders covered by an empty tmpfs (e.g. the data dir)
    usr_links: Mapping[str, str] = field(default_factory=dict)  # /bin -> usr/bin on merged-/usr hosts
    device_paths: Sequence[str] = ()     # e.g. /dev/nvidia0, /dev/nvidiactl for a GPU slice
    extra_binds: Sequence[tuple[str, str]] = ()  # (host, inside) read-only, e.g. the MPS pipe dir
    tmp_size_mib: int = 1024
    hostname: str = "arenahub"
    inner_uid: int | None = None         # run as this uid inside a new user namespace


def build_bwrap_argv(sb: NotebookSandbox, bwrap: str = "bwrap") -> list[str]:
    """Return the full argv: bwrap, its options, then the server command."""
    argv = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--hostname", sb.hostname, "--clearenv"]
    if sb.inner_uid is not None:
        argv += ["--unshare-user", "--uid", str(sb.inner_uid), "--gid", str(sb.inner_uid), "--cap-drop", "ALL"]
    for d in SYSTEM_DIRS:
        argv += ["--ro-bind-try", d, d]
    for link in USR_LINKS:
        target = sb.usr_links.get(link)
        if target:
            argv += ["--symlink", target, link]
        else:
            argv += ["--ro-bind-try", link, link]
    for p in _outermost(sb.readonly_paths):
        argv += ["--ro-bind", p, p]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    for dev in sb.device_paths:
        argv += ["--dev-bind-try", dev, dev]
    argv += ["--size", str(sb.tmp_size_mib * 1024 * 1024), "--tmpfs", "/tmp"]
    for host, inside in sb.extra_binds:
        argv += ["--ro-bind-try", host, inside]
    # Cover host paths that must stay invisible even if a read-only path contains them.
    for p in sb.hidden_paths:
        if any(_is_within(p, ro) for ro in sb.readonly_paths):
            argv += ["--tmpfs", p]
    argv += ["--bind", sb.home_host, sb.home_inside, "--chdir", sb.home_inside]
    for key in sorted(sb.env):
        argv += ["--setenv", key, sb.env[key]]
    argv.append("--")
    argv.extend(sb.argv)
    return argv


def _is_within(path: str, parent: str) -> bool:
    p, q = PurePosixPath(path), PurePosixPath(parent)
    return p == q or q in p.parents


def _outermost(paths: Sequence[str]) -> list[str]:
    """Drop paths already inside another listed path, keeping order."""
    unique = list(dict.fromkeys(paths))
    return [p for p in unique if not any(o != p and _is_within(p, o) for o in unique)]
