"""Running notebooks as the hub reports them, turned into what the ledger charges (pure)."""

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
            options = server.get("user_options") or {}
            slug = options.get("profile") if isinstance(options, Mapping) else None
            fraction = float(profiles.get(slug, default_fraction)) if slug else float(default_fraction)
            if fraction <= 0:
                continue
            started_at = datetime.fromisoformat(str(started).replace("Z", "+00:00")).timestamp()
            source_id = f"{user['name']}/{name}@{started}"
            runs.append(NotebookRun(str(user["name"]), source_id, fraction, started_at))
    return runs
