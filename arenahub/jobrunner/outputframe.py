"""A test run's outputs folder as one *output frame*: a tar.gz, base64 lines between marker lines (stdlib only).

The collector sidecar (``arenahub.jobrunner.collector``) packs and frames the folder inside the
job's pod and prints the frame to its own log; the gateway's Kubernetes executor reads that log,
verifies the frame (byte count, SHA-256) and unpacks it. A frame looks like::

    ARENAHUB-OUTPUTS-BEGIN v1 bytes=1234 sha256=<64 hex>
    <base64 of the tar.gz, LINE_CHARS characters a line>
    ARENAHUB-OUTPUTS-END v1 bytes=1234 sha256=<64 hex>

or, when the collector refuses (too big, too many files, out of time), one line
``ARENAHUB-OUTPUTS-REFUSED v1 <reason>``. Only regular files and folders travel: symlinks,
devices, FIFOs and sockets are skipped, and nothing outside the folder is ever opened.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import os
import re
import stat
import tarfile
import time
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

BEGIN, END, REFUSED = "ARENAHUB-OUTPUTS-BEGIN", "ARENAHUB-OUTPUTS-END", "ARENAHUB-OUTPUTS-REFUSED"
FRAME_VERSION = "v1"
LINE_CHARS = 4096  # well below the 16 KiB at which container runtimes split a log line
# The default cap on the compressed archive: its base64 frame (4/3 of it, 9.4 MiB) must fit in one
# container log file, which the kubelet rotates at containerLogMaxSize (default 10Mi); the pod-log
# API serves only the current file, so a frame cut by a rotation is lost.
DEFAULT_MAX_BYTES = 7 << 20
MAX_FILES = 100_000  # files and folders in one archive
MAX_UNPACKED_BYTES = 1 << 30  # sum of the files' sizes: a small archive may unpack to a lot (gzip bomb)
_FRAME_LINE = re.compile(rf"^({BEGIN}|{END}) {FRAME_VERSION} bytes=(\d+) sha256=([0-9a-f]{{64}})$")


class OutputFrameError(Exception):
    """The outputs could not be carried: no frame, a damaged one, or one the caps refuse."""


class OutputsRefused(OutputFrameError):
    """The collector refused to pack the outputs and said why (the reason is the message)."""


class OutputsTooLarge(OutputFrameError):
    """The outputs exceed a cap (compressed bytes, unpacked bytes or number of files)."""


@dataclass(frozen=True)
class PackedOutputs:
    """A packed outputs folder: the tar.gz, how many files it holds and their total size, and what was skipped."""

    archive: bytes
    files: int
    file_bytes: int
    skipped: tuple[str, ...]  # relative paths of symlinks, devices, FIFOs and sockets left out


class _CappedBuffer(io.BytesIO):
    """A BytesIO that raises OutputsTooLarge as soon as more than ``cap`` bytes are written."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > self.cap:
            raise OutputsTooLarge(f"the compressed outputs are larger than the cap of {self.cap} bytes")
        return super().write(data)


def pack_outputs(
    outputs_dir: Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_files: int = MAX_FILES,
    max_file_bytes: int = MAX_UNPACKED_BYTES, deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PackedOutputs:
    """The regular files and folders under ``outputs_dir`` as a tar.gz (names relative to it).

    Never follows a symlink: a symlinked ``outputs_dir`` packs as empty, symlinks, devices,
    FIFOs and sockets inside it are skipped (listed in ``skipped``), and every file is opened
    with O_NOFOLLOW and checked to be a regular file. A missing folder packs as an empty archive.
    Raises OutputsTooLarge past ``max_bytes`` compressed, ``max_files`` entries or
    ``max_file_bytes`` of file contents, and OutputsRefused when ``clock()`` passes ``deadline``.
    """
    buffer = _CappedBuffer(max_bytes)
    files = file_bytes = entries = 0
    skipped: list[str] = []
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6, format=tarfile.PAX_FORMAT) as tar:
        # fwalk with follow_symlinks=False yields nothing for a symlinked top and never enters a
        # symlinked folder; names are opened relative to the folder's descriptor (no path races).
        walk = os.fwalk(outputs_dir, follow_symlinks=False) if os.path.lexists(outputs_dir) else ()
        for folder, dirs, names, dir_fd in walk:
            rel_folder = os.path.relpath(folder, outputs_dir)
            links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]  # fwalk lists them as folders
            dirs[:] = sorted(d for d in dirs if d not in links)
            for name in sorted(names + links):  # a link fails O_NOFOLLOW below and is skipped
                if deadline is not None and clock() > deadline:
                    raise OutputsRefused("packing the outputs took longer than the time the pod allows")
                rel = os.path.normpath(os.path.join(rel_folder, name))
                if entries + 1 > max_files:
                    raise OutputsTooLarge(_over_caps(entries + 1, file_bytes, max_files, max_file_bytes))
                packed = _add_file(tar, dir_fd, name, rel, max_file_bytes - file_bytes)
                if packed is None:
                    skipped.append(rel)
                    continue
                files, file_bytes, entries = files + 1, file_bytes + packed, entries + 1
            for name in dirs:
                entries += 1
                if entries > max_files:
                    raise OutputsTooLarge(_over_caps(entries, file_bytes, max_files, max_file_bytes))
                info = tarfile.TarInfo(os.path.normpath(os.path.join(rel_folder, name)))
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    return PackedOutputs(buffer.getvalue(), files, file_bytes, tuple(skipped))


def _over_caps(entries: int, file_bytes: int, max_files: int, max_file_bytes: int) -> str:
    if entries > max_files:
        return f"the outputs hold more than {max_files} files and folders"
    return f"the output files add up to more than {max_file_bytes} bytes"


def _add_file(tar: tarfile.TarFile, dir_fd: int, name: str, arcname: str, budget: int) -> int | None:
    """Add ``name`` (in the folder ``dir_fd``) if it is a regular file; its size, or None when skipped.

    Raises OutputsTooLarge, before reading it, when the file is larger than ``budget`` bytes.
    """
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: a symlink fails here.
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > budget:
            raise OutputsTooLarge(f"the output files add up to more than the cap ({arcname} alone is "
                                  f"{info.st_size} bytes)")
        member = tarfile.TarInfo(arcname)
        member.size, member.mode, member.mtime = info.st_size, 0o644, int(info.st_mtime)
        tar.addfile(member, file)
        return info.st_size


def build_frame(archive: bytes, line_chars: int = LINE_CHARS) -> list[str]:
    """The frame lines (without newlines) carrying ``archive``: begin marker, base64 body, end marker."""
    marker = f"{FRAME_VERSION} bytes={len(archive)} sha256={hashlib.sha256(archive).hexdigest()}"
    body = base64.b64encode(archive).decode("ascii")
    return [f"{BEGIN} {marker}", *(body[i:i + line_chars] for i in range(0, len(body), line_chars)),
            f"{END} {marker}"]


def build_refusal(reason: str) -> str:
    """The one line a collector prints instead of a frame; ``reason`` is kept to one line."""
    return f"{REFUSED} {FRAME_VERSION} {' '.join(reason.split())}"


def read_frame(lines: Iterable[str], *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The archive carried by the first frame in ``lines`` (a collector's log), verified.

    Raises OutputsRefused with the collector's reason when it refused, OutputsTooLarge when the
    frame announces more than ``max_bytes``, and OutputFrameError when there is no frame, it is
    truncated, or its byte count or SHA-256 does not match its contents.
    """
    header: tuple[int, str] | None = None
    body: list[str] = []
    for raw in lines:
        line = raw.rstrip("\r\n")
        if header is None:
            if line.startswith(f"{REFUSED} {FRAME_VERSION} "):
                raise OutputsRefused(line[len(REFUSED) + len(FRAME_VERSION) + 2:])
            match = _FRAME_LINE.match(line)
            if match and match[1] == BEGIN:
                header = (int(match[2]), match[3])
                if header[0] > max_bytes:
                    raise OutputsTooLarge(f"the frame announces {header[0]} bytes, over the cap of {max_bytes}")
            continue
        match = _FRAME_LINE.match(line)
        if match is None:
            body.append(line)
            continue
        if match[1] != END or (int(match[2]), match[3]) != header:
            raise OutputFrameError("the frame's end marker does not match its begin marker")
        return _verified(body, *header)
    if header is None:
        raise OutputFrameError("the log holds no output frame")
    raise OutputFrameError("the frame is truncated: its end marker is missing")


def _verified(body: list[str], size: int, sha256: str) -> bytes:
    try:
        archive = binascii.a2b_base64("".join(body).encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise OutputFrameError(f"the frame's body is not valid base64 ({exc})") from None
    if len(archive) != size:
        raise OutputFrameError(f"the frame carries {len(archive)} bytes but announces {size}")
    if hashlib.sha256(archive).hexdigest() != sha256:
        raise OutputFrameError("the frame's SHA-256 does not match its contents")
    return archive


def unpack_outputs(archive: bytes, dest: Path, *, max_files: int = MAX_FILES,
                   max_file_bytes: int = MAX_UNPACKED_BYTES) -> int:
    """Extract ``archive`` into the folder ``dest``; returns the number of files.

    Only regular files and folders are accepted; absolute names are taken as relative to ``dest``
    and a name with a ``..`` part is refused; files are created new (never through a link). The
    checks are written out rather than left to tarfile's ``data`` filter, which Python 3.11 has
    only from 3.11.4 (Debian 12's is 3.11.2). Raises OutputsTooLarge past ``max_files`` entries or ``max_file_bytes``
    of contents (checked before each member is written) and OutputFrameError for anything else
    wrong with the archive; ``dest`` may then hold part of it (the caller removes it).
    """
    entries = files = file_bytes = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r|gz") as tar:  # a stream: no seeks back
            for member in tar:
                entries += 1
                if not (member.isfile() or member.isdir()):
                    raise OutputFrameError(f"the archive member {member.name!r} is not a regular file or folder")
                file_bytes += member.size if member.isfile() else 0
                if entries > max_files or file_bytes > max_file_bytes:
                    raise OutputsTooLarge(_over_caps(entries, file_bytes, max_files, max_file_bytes))
                target = dest / _member_parts(member.name)
                if member.isdir():
                    target.mkdir(mode=0o755, parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
                _write_new_file(target, tar.extractfile(member))
                files += 1
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise OutputFrameError(f"the archive cannot be unpacked ({exc})") from None
    return files


def _member_parts(name: str) -> Path:
    """The member's path relative to the destination; OutputFrameError if it would leave it."""
    parts = [part for part in name.replace("\\", "/").split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise OutputFrameError(f"the archive member {name!r} leaves the outputs folder")
    return Path(*parts)


def _write_new_file(target: Path, source: io.BufferedReader | None) -> None:
    """Copy ``source`` into the new file ``target``; refuses to open an existing name or a link."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as sink:
        while source is not None and (chunk := source.read(1 << 20)):
            sink.write(chunk)
