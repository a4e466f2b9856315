"""Reading a finished test run's output files and the hidden annotations, outside the sandbox.

The outputs folder was written by untrusted code running as another uid: every path step is
opened relative to its parent with O_NOFOLLOW, so a symlink planted there (pointing at the
annotations, or at /etc/shadow) is refused, never followed; devices and FIFOs are refused
without blocking; files are read only up to the template's size limit.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from arenahub.scoring.scorer import OutputData, RefusedOutput

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
FORMAT_SUFFIX = {"json": ".json", "xml": ".xml"}


class AnnotationsMissing(RuntimeError):
    """The dataset's test/annotations folder cannot be read; the organiser must fix the dataset."""


def load_annotations(folder: Path, fmt: str) -> list[tuple[str, bytes]]:
    """(sample id, annotation bytes) for every ``<id>.json`` (or ``.xml``) in ``folder``, by id.

    The folder is the organiser's; other files in it are ignored. Raises AnnotationsMissing
    when the folder cannot be listed.
    """
    suffix = FORMAT_SUFFIX[fmt]
    try:
        entries = sorted(p for p in folder.iterdir() if p.suffix == suffix and p.is_file())
    except OSError as err:
        raise AnnotationsMissing(f"Cannot read the annotations in {folder}: {err.strerror}.") from None
    return [(p.stem, p.read_bytes()) for p in entries]


@contextmanager
def open_outputs_dir(work_dir: Path, subdir: str = "outputs") -> Iterator[int | None]:
    """A descriptor of ``work_dir/subdir`` opened without following symlinks; None when absent.

    ``work_dir`` itself is the gateway's (the run's writable copy); ``subdir`` may be anything the
    job made, so a symlink or non-folder there gives None as if nothing had been written.
    """
    fds: list[int] = []
    try:
        try:
            fds.append(os.open(work_dir, _DIR_FLAGS))
            for part in Path(subdir).parts:
                fds.append(os.open(part, _DIR_FLAGS, dir_fd=fds[-1]))
        except OSError:
            yield None
            return
        yield fds[-1]
    finally:
        for fd in fds:
            os.close(fd)


def read_output(dir_fd: int | None, name: str, limit_bytes: int) -> OutputData:
    """The bytes of output file ``name`` (at most ``limit_bytes`` + 1), None when it is missing.

    A symlink, a hard link, or anything but a regular file gives a RefusedOutput with the reason;
    reading it would let the job point the scorer at a file the job itself may not read.
    """
    if dir_fd is None:
        return None
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as err:
        if err.errno == errno.ELOOP:  # O_NOFOLLOW met a symlink as the last step
            return RefusedOutput(f"output {name} is a symbolic link; write outputs as regular files")
        return RefusedOutput(f"output {name} cannot be opened ({err.strerror})")
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return RefusedOutput(f"output {name} is not a regular file")
        if info.st_nlink > 1:
            return RefusedOutput(f"output {name} is a hard link; write outputs as regular files")
        chunks, left = [], limit_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
