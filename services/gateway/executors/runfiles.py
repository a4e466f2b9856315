"""What the supervisor reads from the host and writes to a run folder: system layout, uids, disk use, the log."""

from __future__ import annotations

import os
import time
from pathlib import Path

from arenahub.gateway.executors.logfile import encode_record


def uids_in_use() -> set[int]:
    """The uids owning a process on this host right now."""
    uids = set()
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                uids.add(entry.stat().st_uid)
            except OSError:
                pass
    return uids


def disk_usage(root: Path) -> int:
    """Bytes allocated below ``root``, symlinks not followed."""
    total, stack = 0, [str(root)]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                for entry in entries:
                    st = entry.stat(follow_symlinks=False)
                    total += st.st_blocks * 512
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
        except OSError:
            continue
    return total


class LogWriter:
    """Appends records to log.jsonl, one write per batch, numbering them 0, 1, 2, ... without gaps."""

    def __init__(self, path: Path, max_bytes: int):
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self.max_bytes = max_bytes
        self.size = os.fstat(self.fd).st_size
        self.seq = 0
        self.dropped = 0

    def write(self, stream: str, lines: list[str]) -> None:
        """Append one record per line; past max_bytes, lines are counted as dropped instead."""
        now = time.time()
        chunks = []
        for text in lines:
            record = encode_record(self.seq, now, stream, text)
            if self.dropped or self.size + len(record) > self.max_bytes:
                if not self.dropped:
                    note = f"Log limit of {self.max_bytes} bytes reached; further output of this job is dropped."
                    chunks.append(encode_record(self.seq, now, "system", note))
                    self.seq += 1
                self.dropped += 1
                continue
            chunks.append(record)
            self.size += len(record)
            self.seq += 1
        data = b"".join(chunks)
        while data:
            written = os.write(self.fd, data)
            data = data[written:]

    def system(self, text: str) -> None:
        """A line from the supervisor itself (start, limits, how the run ended); never dropped."""
        record = encode_record(self.seq, time.time(), "system", text)
        os.write(self.fd, record)
        self.size += len(record)
        self.seq += 1
