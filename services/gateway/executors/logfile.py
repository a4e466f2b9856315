"""The run log format (``log.jsonl``): splitting output into lines, encoding and parsing records; pure."""

from __future__ import annotations

import json

from arenahub.gateway.executors.base import LogRecord

MAX_LINE_BYTES = 64 * 1024


class LineSplitter:
    """Turns a byte stream into text lines; a line longer than MAX_LINE_BYTES is cut into pieces."""

    def __init__(self, max_line_bytes: int = MAX_LINE_BYTES):
        self.max_line_bytes = max_line_bytes
        self._pending = b""

    def feed(self, data: bytes) -> list[str]:
        """The complete lines in ``data`` plus what was pending, without their newlines."""
        self._pending += data
        lines: list[str] = []
        while True:
            end = self._pending.find(b"\n")
            if end == -1:
                break
            lines += self._cut(self._pending[:end])
            self._pending = self._pending[end + 1 :]
        while len(self._pending) >= self.max_line_bytes:
            cut = _utf8_boundary(self._pending, self.max_line_bytes)
            lines.append(_decode(self._pending[:cut]))
            self._pending = self._pending[cut:]
        return lines

    def flush(self) -> list[str]:
        """The unterminated rest of the stream as a last line (empty list when nothing is left)."""
        rest, self._pending = self._pending, b""
        return self._cut(rest) if rest else []

    def _cut(self, line: bytes) -> list[str]:
        if line.endswith(b"\r"):
            line = line[:-1]
        pieces = []
        while len(line) > self.max_line_bytes:
            cut = _utf8_boundary(line, self.max_line_bytes)
            pieces.append(_decode(line[:cut]))
            line = line[cut:]
        pieces.append(_decode(line))
        return pieces


def _utf8_boundary(data: bytes, limit: int) -> int:
    """The largest cut <= limit that does not split a UTF-8 character (continuation bytes 10xxxxxx)."""
    if limit >= len(data):
        return len(data)
    cut = limit
    while cut > limit - 4 and cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut if cut > 0 else limit


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")


def encode_record(seq: int, ts: float, stream: str, text: str) -> bytes:
    """One log.jsonl line (with its newline) for a record."""
    record = {"seq": seq, "ts": round(ts, 6), "stream": stream, "text": text}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def parse_records(data: bytes, start_offset: int) -> tuple[list[LogRecord], int]:
    """Records of the complete lines in ``data``, read from byte ``start_offset`` of the log.

    Returns the records (each with the offset just after its line) and the number of bytes
    consumed; an unterminated last line is left for the next read. Raises ValueError on a line
    that is not a record.
    """
    records: list[LogRecord] = []
    consumed = 0
    while True:
        end = data.find(b"\n", consumed)
        if end == -1:
            return records, consumed
        line = data[consumed:end]
        consumed = end + 1
        try:
            obj = json.loads(line)
            records.append(
                LogRecord(
                    seq=int(obj["seq"]),
                    offset=start_offset + consumed,
                    ts=float(obj["ts"]),
                    stream=str(obj["stream"]),
                    text=str(obj["text"]),
                )
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"log line at byte {start_offset + consumed - len(line) - 1} is not a record: {exc}") from exc
