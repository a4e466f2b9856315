"""Persistent homes: a new home starts as a copy of the skeleton folder, owned by its user."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def copy_skeleton(skeleton: Path, home: Path, uid: int | None) -> list[Path]:
    """Copy ``skeleton`` into ``home`` without overwriting anything; chown copies to ``uid``.

    Symbolic links in the skeleton are skipped, not followed, so a skeleton cannot hand a user
    a link into the hub's data. Returns the paths created, for the log.
    """
    if not skeleton.is_dir():
        raise FileNotFoundError(f"home_skeleton {skeleton} is not a folder; fix VGPULocalSpawner.home_skeleton")
    created: list[Path] = []
    for root, dirs, files in os.walk(skeleton, followlinks=False):
        rel = Path(root).relative_to(skeleton)
        for name in sorted(dirs):
            source, target = Path(root) / name, home / rel / name
            if source.is_symlink() or target.exists():
                continue
            target.mkdir(mode=0o700)
            created.append(target)
        for name in sorted(files):
            source, target = Path(root) / name, home / rel / name
            if source.is_symlink() or target.exists() or not source.is_file():
                continue
            shutil.copyfile(source, target, follow_symlinks=False)
            target.chmod(0o700 if os.access(source, os.X_OK) else 0o600)
            created.append(target)
    if uid is not None:
        for path in created:
            os.chown(path, uid, uid, follow_symlinks=False)
    return created
