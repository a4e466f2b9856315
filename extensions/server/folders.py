"""Job folders on the notebook server's disk: where a requested folder really is, and its scripts."""

from __future__ import annotations

import os
from pathlib import Path

from arenahub.core.errors import InvalidInput
from arenahub.extensions.jobrequest import ENTRYPOINT_SUFFIXES


def resolve_job_folder(root_dir: Path, requested: str) -> tuple[Path, str]:
    """The real path of the job folder and the label shown to the user.

    ``requested`` is relative to ``root_dir`` (the server's file browser root) or absolute
    inside it. Raises InvalidInput when it points outside ``root_dir`` (links included).
    """
    root = Path(os.path.realpath(root_dir))
    candidate = Path(requested) if os.path.isabs(requested) else root / requested
    real = Path(os.path.realpath(candidate))
    if real != root and root not in real.parents:
        raise InvalidInput(
            f"The job folder {requested!r} is outside your files ({root}); choose a folder in your home.",
            reason="folder-outside-root",
        )
    label = real.relative_to(root).as_posix()
    return real, "." if label in ("", ".") else label


def list_entrypoints(folder: Path, limit: int = 200) -> list[str]:
    """Scripts (.py, .sh) at the top of ``folder`` and one level down, sorted; empty if it is no folder."""
    if not folder.is_dir():
        return []
    found: list[str] = []
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_file() and child.suffix in ENTRYPOINT_SUFFIXES:
            found.append(child.name)
        elif child.is_dir() and not child.is_symlink() and child.name not in ("__pycache__",):
            found += [f"{child.name}/{g.name}" for g in sorted(child.iterdir())
                      if g.is_file() and g.suffix in ENTRYPOINT_SUFFIXES]
        if len(found) >= limit:
            break
    return found[:limit]
