"""Running and stopped notebooks as the hub reports them, turned into what the ledger charges (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NotebookRun:
    """One running notebook server: its user, a stable id for this run of it, its GPU fraction and start time."""

    user: str
    source_id: str
    gpu_fraction: float
    started_at: float


def notebook_runs(
    users: Iterable[Mapping[str, Any]], profiles: Mapping[str, float], default_fraction: float = 0.0
) -> list[NotebookRun]:
    """The GPU notebooks among the hub's ``GET /users?state=active`` models.

    A server's fraction comes from its ``user_options["profile"]`` slug in ``profiles``; a server
    started without a profile gets ``default_fraction``. Servers not yet started or holding no
    GPU are left out. The id includes the start time, so each run of a server is charged apart.
    """
    runs = []
    for user in users:
        for name, server in (user.get("servers") or {}).items():
            started = server.get("started")
            if not started or server.get("stopped"):
                continue
            fraction = server_fraction(server, profiles, default_fraction)
            if fraction <= 0:
                continue
            started_at = _timestamp(str(started))
            source_id = f"{user['name']}/{name}@{started}"
            runs.append(NotebookRun(str(user["name"]), source_id, fraction, started_at))
    return runs


def server_fraction(server: Mapping[str, Any], profiles: Mapping[str, float], default_fraction: float = 0.0) -> float:
    """The GPU fraction of a hub server model: its ``user_options["profile"]`` in ``profiles``, else the default."""
    options = server.get("user_options") or {}
    slug = options.get("profile") if isinstance(options, Mapping) else None
    return float(profiles.get(slug, default_fraction)) if slug else float(default_fraction)


@dataclass(frozen=True)
class NotebookEnd:
    """What the hub says about a notebook run the active list no longer shows.

    ``state``: "stopped" (``stopped_at`` is when the hub stopped it), "running" (the hub still
    runs it: charge it as usual), or "unknown" (the user or server is gone, or the server has
    started again since, so the stop time is lost).
    """

    state: str
    stopped_at: float | None = None
    server: Mapping[str, Any] | None = None  # the hub's model of the server, when it still has one


def split_source_id(source_id: str) -> tuple[str, str, str]:
    """``(user, server name, started)`` of a notebook run id built by ``notebook_runs`` (``user/name@started``)."""
    user, _, rest = source_id.partition("/")
    server, _, started = rest.rpartition("@")
    return user, server, started


def notebook_end(source_id: str, user_model: Mapping[str, Any] | None) -> NotebookEnd:
    """How the run ``source_id`` ended, from the hub's ``GET /users/{name}?include_stopped_servers=1`` model.

    JupyterHub stamps a server's ``last_activity`` with the moment it stops it and clears
    ``started``; that stamp is the stop time. A server started again since (another ``started``)
    has lost that stamp: "unknown".
    """
    _, server_name, started = split_source_id(source_id)
    server = ((user_model or {}).get("servers") or {}).get(server_name)
    if not server:
        return NotebookEnd("unknown")
    if server.get("started"):
        same = str(server["started"]) == started
        return NotebookEnd("running" if same and not server.get("stopped") else "unknown")
    last = server.get("last_activity")
    if not last:
        return NotebookEnd("unknown", None, server)
    return NotebookEnd("stopped", _timestamp(str(last)), server)


def _timestamp(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
