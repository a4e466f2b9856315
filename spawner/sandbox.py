"""Pure description of the bubblewrap sandbox that isolates one user's notebook server.

Built on ``arenahub.core.bwrap`` (shared with the job executor). The server shares the host
network (the proxy must reach it) but nothing else: it sees the system and Python read-only,
its own home read-write at ``/home/<name>``, private ``/tmp`` and ``/dev/shm``, generated
``/etc/passwd|group|hosts`` and its own process tree. Other homes, the hub's data directory
and secrets are not mounted, so they do not exist inside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from arenahub.core.bwrap import (
    DEFAULT_ETC_PATHS,
    Bind,
    SandboxSpec,
    Tmpfs,
    make_system_mounts,
    setpriv_argv,
)

# What notebook users need from /etc beyond what a job needs: TLS roots and name resolution
# (notebooks may install packages), shell start-up files and terminal descriptions.
NOTEBOOK_ETC_PATHS = (*DEFAULT_ETC_PATHS, "/etc/ssl", "/etc/ca-certificates", "/etc/resolv.conf",
                      "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf", "/etc/bash.bashrc",
                      "/etc/profile", "/etc/inputrc", "/etc/terminfo", "/etc/pip.conf")
HOSTNAME = "arenahub"


@dataclass(frozen=True)
class NotebookSandbox:
    """Everything that decides what one notebook server can see and who it runs as."""

    home_host: str                          # the user's persistent home on the host
    home_inside: str                        # where it appears inside, e.g. /home/alice
    env: Mapping[str, str]                  # the complete environment (built from scratch)
    argv: Sequence[str]                     # the server command
    uid: int                                # the unprivileged uid the server runs as
    etc_dir: str                            # host folder with generated passwd, group, hosts
    system_layout: Mapping[str, str | None]  # see arenahub.core.bwrap.make_system_mounts
    software_paths: Sequence[str] = ()      # Python prefix, venv, sources: read-only
    hidden_paths: Sequence[str] = ()        # host folders that must stay invisible (the data dir)
    device_paths: Sequence[str] = ()        # e.g. /dev/nvidia0, /dev/nvidiactl for a GPU slice
    extra_binds: Sequence[tuple[str, str]] = ()  # (host, inside) read-only, e.g. the MPS pipe dir
    tmp_size_mib: int = 1024
    as_root: bool = True                    # bwrap runs as root and setpriv drops to uid; else a user namespace
    bwrap: str = "/usr/bin/bwrap"
    setpriv: str = "/usr/bin/setpriv"


def make_notebook_spec(nb: NotebookSandbox) -> SandboxSpec:
    """The SandboxSpec of one notebook server (turn it into argv with build_bwrap_argv)."""
    system_binds, links = make_system_mounts(nb.system_layout, NOTEBOOK_ETC_PATHS)
    binds = list(system_binds)
    software = [p for p in outermost(nb.software_paths) if not _covered(p, [b.target for b in system_binds])]
    binds += [Bind(p, p) for p in software]
    binds += [Bind(f"{nb.etc_dir}/{name}", f"/etc/{name}") for name in ("passwd", "group", "hosts")]
    binds.append(Bind(nb.home_host, nb.home_inside, writable=True))
    binds += [Bind(d, d, device=True, required=False) for d in nb.device_paths]
    binds += [Bind(h, i, required=False) for h, i in nb.extra_binds]
    tmp = nb.tmp_size_mib * 1024 * 1024
    tmpfs = [Tmpfs("/tmp", tmp, 0o1777), Tmpfs("/dev/shm", tmp, 0o1777)]
    # Cover host paths that must stay invisible even when a software path contains them.
    tmpfs += [Tmpfs(p, 4096, 0o755) for p in nb.hidden_paths if _covered(p, software)]
    if nb.as_root:
        argv = setpriv_argv(nb.uid, nb.uid, nb.argv, nb.setpriv)
        # bwrap itself must enter the 0700 home (owned by uid) before setpriv drops everything.
        identity = {"cap_add": ("CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_DAC_READ_SEARCH")}
    else:
        argv = tuple(nb.argv)
        identity = {"unshare_user": True, "uid": nb.uid, "gid": nb.uid, "cap_add": ()}
    return SandboxSpec(
        argv=argv, binds=tuple(binds), tmpfs=tuple(tmpfs), symlinks=links,
        env=tuple(sorted(nb.env.items())), chdir=nb.home_inside, hostname=HOSTNAME,
        unshare_net=False,        # the proxy reaches the server over the host's loopback
        die_with_parent=False,    # servers outlive a hub restart; the spawner finds them again
        new_session=False,        # keep one process group, so stop() can signal the server
        bwrap=nb.bwrap, **identity,
    )


def _is_within(path: str, parent: str) -> bool:
    p, q = PurePosixPath(path), PurePosixPath(parent)
    return p == q or q in p.parents


def _covered(path: str, roots: Sequence[str]) -> bool:
    return any(_is_within(path, r) for r in roots)


def outermost(paths: Sequence[str]) -> list[str]:
    """Drop paths already inside another listed path, keeping order."""
    unique = list(dict.fromkeys(paths))
    return [p for p in unique if not any(o != p and _is_within(p, o) for o in unique)]
