"""Safe unpacking of a submitted job folder (tar or tar.gz): check every member first, then extract."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from arenahub.core.errors import InvalidInput, PayloadTooLarge

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchiveLimits:
    """Upload size, unpacked size and member count a code archive may have."""

    upload_max_bytes: int
    extract_max_bytes: int
    extract_max_files: int


@dataclass(frozen=True)
class Manifest:
    """What a checked archive holds: its SHA-256, files (relative paths), folders and unpacked bytes."""

    sha256: str
    upload_bytes: int
    files: frozenset[str]
    folders: frozenset[str]
    unpacked_bytes: int


async def read_limited(chunks: AsyncIterator[bytes], max_bytes: int) -> bytes:
    """Concatenate ``chunks``; raises PayloadTooLarge as soon as more than ``max_bytes`` arrive."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > max_bytes:
            raise too_large(max_bytes)
    return bytes(buffer)


def too_large(max_bytes: int) -> PayloadTooLarge:
    """The error for an upload over ``max_bytes``."""
    return PayloadTooLarge(
        f"The code archive is larger than {max_bytes / 2**20:.1f} MiB "
        "(ARENAHUB_GATEWAY_LIMITS__UPLOAD_MAX_BYTES). Leave data, checkpoints and caches out of the "
        "job folder; datasets are mounted for you.",
        reason="upload-too-large",
    )


def _member_path(member: tarfile.TarInfo) -> str:
    name = member.name
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute():
        raise _rejected(f"{name!r} is an absolute path")
    if ".." in path.parts:
        raise _rejected(f"{name!r} climbs out of the folder with '..'")
    if "\x00" in name or "\\" in name:
        raise _rejected(f"{name!r} contains a NUL byte or a backslash")
    parts = [p for p in path.parts if p not in ("", ".")]
    return "/".join(parts)


def _rejected(why: str) -> InvalidInput:
    return InvalidInput(
        f"The code archive was refused and nothing was unpacked: {why}. Archives may hold only "
        "regular files and folders with relative paths inside the job folder (no links, devices or "
        "'..').",
        reason="archive-unsafe",
    )


def _member_kind(member: tarfile.TarInfo) -> str:
    if member.isreg():
        return "file"
    if member.isdir():
        return "folder"
    for is_kind, label in (
        (member.issym, "a symbolic link"),
        (member.islnk, "a hard link"),
        (member.ischr, "a character device"),
        (member.isblk, "a block device"),
        (member.isfifo, "a FIFO"),
    ):
        if is_kind():
            raise _rejected(f"{member.name!r} is {label}")
    raise _rejected(f"{member.name!r} is not a regular file or folder")


def check_archive(data: bytes, limits: ArchiveLimits) -> Manifest:
    """Check every member of a tar or tar.gz without writing anything.

    Raises PayloadTooLarge over ``upload_max_bytes`` and InvalidInput for an unreadable archive,
    an unsafe member (absolute path, ``..``, link, device, FIFO), a duplicate path, or too many
    files or bytes unpacked.
    """
    if len(data) > limits.upload_max_bytes:
        raise too_large(limits.upload_max_bytes)
    files: set[str] = set()
    folders: set[str] = set()
    unpacked = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            # Iterating member by member stops a decompression bomb at the first limit crossed.
            for member in archive:
                kind = _member_kind(member)
                path = _member_path(member)
                if not path:
                    if kind == "folder":
                        continue
                    raise _rejected(f"{member.name!r} has no file name")
                if path in files or (kind == "file" and path in folders):
                    raise _rejected(f"{path!r} appears twice")
                (files if kind == "file" else folders).add(path)
                unpacked += member.size if kind == "file" else 0
                if len(files) + len(folders) > limits.extract_max_files:
                    raise InvalidInput(
                        f"The code archive holds more than {limits.extract_max_files} files and folders "
                        "(ARENAHUB_GATEWAY_LIMITS__EXTRACT_MAX_FILES); nothing was unpacked.",
                        reason="archive-too-many-files",
                    )
                if unpacked > limits.extract_max_bytes:
                    raise InvalidInput(
                        f"The code archive unpacks to more than {limits.extract_max_bytes / 2**20:.1f} MiB "
                        "(ARENAHUB_GATEWAY_LIMITS__EXTRACT_MAX_BYTES); nothing was unpacked.",
                        reason="archive-too-large-unpacked",
                    )
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise InvalidInput(
            f"The code archive could not be read as tar or tar.gz ({exc}); nothing was unpacked.",
            reason="archive-unreadable",
        ) from exc
    for path in files:
        parent = PurePosixPath(path).parent
        while str(parent) != ".":
            if str(parent) in files:
                raise _rejected(f"{str(parent)!r} is both a file and a folder")
            parent = parent.parent
    return Manifest(
        sha256=hashlib.sha256(data).hexdigest(),
        upload_bytes=len(data),
        files=frozenset(files),
        folders=frozenset(folders),
        unpacked_bytes=unpacked,
    )


def extract_archive(data: bytes, manifest: Manifest, dest: Path) -> None:
    """Unpack a checked archive into the new folder ``dest`` (all or nothing).

    Only regular files and folders are written, with modes 0644/0755 (no setuid bits); the data
    goes to a sibling temporary folder first and is renamed into place when complete.
    """
    staging = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    try:
        for folder in sorted(manifest.folders):
            (staging / folder).mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:
                if not member.isreg():
                    continue
                path = _member_path(member)
                target = staging / path
                target.parent.mkdir(parents=True, exist_ok=True)
                source = archive.extractfile(member)
                if source is None:
                    raise _rejected(f"{member.name!r} could not be read")
                mode = 0o755 if member.mode & 0o111 else 0o644
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
                with os.fdopen(fd, "wb") as sink:
                    shutil.copyfileobj(source, sink, _CHUNK)
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
