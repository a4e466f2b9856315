"""Snapshots of a job folder: which files go (``.arenaignore``, limits) and the tar.gz that carries them.

``plan_snapshot`` decides from plain file entries (pure); ``scan_folder`` and ``build_snapshot``
read the disk. The archive is deterministic (sorted names, zero times and owners), so the same
folder always gives the same SHA-256 and a leaderboard score can be traced to its code.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import stat
import tarfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from arenahub.core.errors import InvalidInput, PayloadTooLarge
from arenahub.extensions.ignore import IGNORE_FILE, IgnoreRule, compile_rules, default_rules, is_ignored

MIB = 2**20


@dataclass(frozen=True)
class SnapshotLimits:
    """How big a job folder may be: total bytes of the files sent, and how many files."""

    max_bytes: int = 50 * MIB
    max_files: int = 10_000


@dataclass(frozen=True)
class FileEntry:
    """One regular file found in the job folder (``path`` relative, ``/``-separated)."""

    path: str
    size: int
    executable: bool = False


@dataclass(frozen=True)
class FolderScan:
    """What a walk of the job folder found: files kept, counts ignored, links skipped."""

    files: tuple[FileEntry, ...]
    ignored: int
    skipped_links: tuple[str, ...]


@dataclass(frozen=True)
class SnapshotPlan:
    """The files a snapshot sends, their total size, and what was left out."""

    files: tuple[FileEntry, ...]
    total_bytes: int
    ignored: int
    skipped_links: tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """A built snapshot: the tar.gz bytes, their SHA-256, and the plan they follow."""

    archive: bytes
    sha256: str
    plan: SnapshotPlan


def _human(n: float) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB / 10 else f"{n / 1024:.1f} KiB"


def plan_snapshot(scan: FolderScan, limits: SnapshotLimits, *, folder_label: str, entrypoint: str | None) -> SnapshotPlan:
    """Check a scan against the limits and the entry point; returns the plan.

    Raises InvalidInput for an empty folder, a missing entry point or too many files, and
    PayloadTooLarge for a folder over ``limits.max_bytes``. Every message names the folder and
    what to do.
    """
    files = tuple(sorted(scan.files, key=lambda f: f.path))
    if not files:
        left_out = f" ({scan.ignored} left out by .arenaignore or the default rules)" if scan.ignored else ""
        raise InvalidInput(
            f"The job folder {folder_label!r} has no files to submit{left_out}. Put your training "
            "script (e.g. train.py) in it, or choose another folder. Nothing was submitted.",
            reason="folder-empty",
        )
    if len(files) > limits.max_files:
        raise InvalidInput(
            f"The job folder {folder_label!r} holds {len(files)} files; a job may send at most "
            f"{limits.max_files}. Add data and caches to {IGNORE_FILE} or move them out of the folder. "
            "Nothing was submitted.",
            reason="folder-too-many-files",
        )
    total = sum(f.size for f in files)
    if total > limits.max_bytes:
        largest = sorted(files, key=lambda f: f.size, reverse=True)[:3]
        names = ", ".join(f"{f.path} ({_human(f.size)})" for f in largest)
        raise PayloadTooLarge(
            f"The job folder {folder_label!r} holds {_human(total)} of files; the limit is "
            f"{_human(limits.max_bytes)}. Largest: {names}. Datasets are mounted into jobs for you: "
            f"leave data and checkpoints out with {IGNORE_FILE}. Nothing was submitted.",
            reason="folder-too-large",
        )
    if entrypoint is not None and entrypoint not in {f.path for f in files}:
        sample = ", ".join([f.path for f in files if f.path.endswith((".py", ".sh"))][:8]) or "none"
        raise InvalidInput(
            f"The entry point {entrypoint!r} is not in the job folder {folder_label!r} (or it is "
            f"ignored). Scripts there: {sample}. Nothing was submitted.",
            reason="entrypoint-missing",
        )
    return SnapshotPlan(files, total, scan.ignored, scan.skipped_links)


def load_rules(folder: Path) -> list[IgnoreRule]:
    """The default rules followed by the folder's ``.arenaignore`` (if it has one)."""
    rules = default_rules()
    ignore_file = folder / IGNORE_FILE
    if ignore_file.is_file():
        rules += compile_rules(ignore_file.read_text(encoding="utf-8", errors="replace").splitlines())
    return rules


def scan_folder(folder: Path, rules: Sequence[IgnoreRule]) -> FolderScan:
    """Walk ``folder`` (not following links), pruning ignored folders; returns what it found."""
    files: list[FileEntry] = []
    ignored = 0
    links: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        rel_dir = Path(dirpath).relative_to(folder).as_posix()
        prefix = "" if rel_dir == "." else rel_dir + "/"
        keep = []
        for name in sorted(dirnames):
            path = prefix + name
            if os.path.islink(os.path.join(dirpath, name)):
                links.append(path)
            elif is_ignored(rules, path, is_folder=True):
                ignored += 1
            else:
                keep.append(name)
        dirnames[:] = keep
        for name in sorted(filenames):
            path = prefix + name
            if is_ignored(rules, path, is_folder=False):
                ignored += 1
                continue
            info = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISLNK(info.st_mode):
                links.append(path)
            elif stat.S_ISREG(info.st_mode):
                files.append(FileEntry(path, info.st_size, bool(info.st_mode & 0o111)))
    return FolderScan(tuple(files), ignored, tuple(links))


def write_archive(folder: Path, files: Iterable[FileEntry], max_bytes: int) -> bytes:
    """A deterministic tar.gz of ``files`` read from ``folder``.

    Raises PayloadTooLarge if the files grew past ``max_bytes`` while being read.
    """
    raw = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in files:
            # O_NOFOLLOW: a file swapped for a link after the scan is refused, not followed.
            fd = os.open(folder / entry.path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, "rb") as source:
                data = source.read(max_bytes - total + 1)
            total += len(data)
            if total > max_bytes:
                raise PayloadTooLarge(
                    f"The job folder grew past {_human(max_bytes)} while it was packed "
                    f"({entry.path} is being written?). Wait for it to finish and submit again.",
                    reason="folder-too-large",
                )
            info = tarfile.TarInfo(entry.path)
            info.size = len(data)
            info.mode = 0o755 if entry.executable else 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), compresslevel=6, mtime=0)


def build_snapshot(folder: Path, limits: SnapshotLimits, *, folder_label: str, entrypoint: str | None) -> Snapshot:
    """Scan, check and pack ``folder``; raises InvalidInput or PayloadTooLarge (see plan_snapshot)."""
    if not folder.is_dir():
        raise InvalidInput(
            f"The job folder {folder_label!r} does not exist (or is not a folder). Choose a folder "
            "that holds your training script. Nothing was submitted.",
            reason="folder-missing",
        )
    scan = scan_folder(folder, load_rules(folder))
    plan = plan_snapshot(scan, limits, folder_label=folder_label, entrypoint=entrypoint)
    archive = write_archive(folder, plan.files, limits.max_bytes)
    return Snapshot(archive, hashlib.sha256(archive).hexdigest(), plan)
