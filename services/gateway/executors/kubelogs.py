"""Pod logs cut into LogRecords (pure): a whole log read at once, or one response arriving in chunks.

The records' byte offsets and numbers are the same either way, so a reader can switch between a
plain read and a followed stream, and a restarted gateway can resume at a stored offset.
"""

from __future__ import annotations

import time

from arenahub.gateway.executors.base import LogRecord

MAX_LINE_BYTES = 64 << 10  # a longer line is cut into pieces of this size
LOG_CHUNK_BYTES = 64 << 10  # read size of a streamed pod log


def split_log_lines(data: bytes, start: int, seq: int, *, final: bool) -> tuple[list[LogRecord], int]:
    """LogRecords for the complete lines of ``data`` (the pod log from byte ``start`` on), numbered
    from ``seq``; with ``final`` a last line without newline counts too. Returns (records, bytes used)."""
    records: list[LogRecord] = []
    used = 0
    now = time.time()
    while used < len(data):
        end = data.find(b"\n", used)
        if end < 0 and not final and len(data) - used < MAX_LINE_BYTES:
            break
        stop = len(data) if end < 0 else end + 1
        stop = min(stop, used + MAX_LINE_BYTES)
        text = data[used:stop].rstrip(b"\n").decode(errors="replace")
        used = stop
        records.append(LogRecord(seq=seq + len(records), offset=start + used, ts=now, stream="stdout", text=text))
    return records, used


class LogSplitter:
    """Cuts one pod-log response, arriving in chunks, into LogRecords the way ``split_log_lines``
    cuts the whole log: the first ``position`` bytes are skipped (their newlines numbered the
    records before, when ``seq`` is None), then every complete line is a record. It holds at most
    one partial line (under MAX_LINE_BYTES: a longer one is cut there, as split_log_lines does).
    ``position`` and ``seq`` are those after the last record returned."""

    def __init__(self, position: int, seq: int | None):
        self.position = position
        self.seq = 0 if position == 0 and seq is None else seq
        self._to_skip = position
        self._skipped_newlines = 0
        self._partial = b""

    def feed(self, chunk: bytes) -> list[LogRecord]:
        """The records completed by the next ``chunk`` of the response."""
        if self._to_skip:
            skipped, chunk = chunk[:self._to_skip], chunk[self._to_skip:]
            self._to_skip -= len(skipped)
            if self.seq is None:  # the first request after a restart: number on from the skipped lines
                self._skipped_newlines += skipped.count(b"\n")
                if not self._to_skip:
                    self.seq = self._skipped_newlines
        if not chunk:
            return []
        return self._split(self._partial + chunk if self._partial else chunk, final=False)

    def finish(self) -> list[LogRecord]:
        """The last line when the response ended without its newline (call only on a complete response)."""
        return self._split(self._partial, final=True) if self._partial else []

    def _split(self, data: bytes, *, final: bool) -> list[LogRecord]:
        seq = self.seq or 0
        records, used = split_log_lines(data, self.position, seq, final=final)
        self._partial = data[used:]
        self.position, self.seq = self.position + used, seq + len(records)
        return records
