"""Builders of job-folder archives for gateway tests, honest and hostile."""

from __future__ import annotations

import io
import tarfile


def make_archive(files: dict[str, str | bytes], *, extra: list[tarfile.TarInfo] | None = None, gzip: bool = True) -> bytes:
    """A tar(.gz) with ``files`` (path -> content) plus raw ``extra`` members (links, devices ...)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz" if gzip else "w") as archive:
        for path, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
        for info in extra or []:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.size else None)
    return buffer.getvalue()


def member(name: str, kind: bytes, *, linkname: str = "", size: int = 0, mode: int = 0o644) -> tarfile.TarInfo:
    """A raw tar member of type ``kind`` (tarfile.SYMTYPE, LNKTYPE, CHRTYPE, FIFOTYPE, REGTYPE ...)."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.size = size
    info.mode = mode
    return info


HOSTILE_MEMBERS = {
    "dot-dot path": member("../escape.py", tarfile.REGTYPE, size=3),
    "nested dot-dot path": member("src/../../escape.py", tarfile.REGTYPE, size=3),
    "absolute path": member("/tmp/arenahub-escape.py", tarfile.REGTYPE, size=3),
    "symbolic link": member("data", tarfile.SYMTYPE, linkname="/etc"),
    "relative symbolic link": member("up", tarfile.SYMTYPE, linkname="../.."),
    "hard link": member("passwd", tarfile.LNKTYPE, linkname="/etc/passwd"),
    "character device": member("null", tarfile.CHRTYPE),
    "block device": member("disk", tarfile.BLKTYPE),
    "fifo": member("pipe", tarfile.FIFOTYPE),
}

TRAIN_PY = "print('hello from train.py')\n"
