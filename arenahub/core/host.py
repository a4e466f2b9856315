"""The host readings both sandboxes (notebook servers and jobs) need before building a bwrap argv."""

from __future__ import annotations

import os
from collections.abc import Iterable

from arenahub.core.bwrap import DEFAULT_SYSTEM_PATHS


def read_system_layout(paths: Iterable[str] = DEFAULT_SYSTEM_PATHS) -> dict[str, str | None]:
    """Each system folder on this host: its symlink text (merged-/usr hosts), or None for a real folder.

    The result is what ``arenahub.core.bwrap.make_system_mounts`` and ``SandboxSpec`` take.
    """
    layout: dict[str, str | None] = {}
    for path in paths:
        if os.path.islink(path):
            layout[path] = os.readlink(path)
        elif os.path.isdir(path):
            layout[path] = None
    return layout
