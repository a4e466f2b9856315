"""The pure-Python scanner: one line at a time, or whole chunks split into plain runs and notable lines.

``PythonScanner`` is the reference the native ``arenahub_logscan.Scanner`` must match
(tests/unit/logpolicy/test_native.py); ``LogFilter.feed_bytes`` lets a chunk's plain runs pass
in bulk and decides only the notable lines one by one.
"""

from __future__ import annotations

import re

from arenahub.logpolicy.scanner import FLAG_CONTROL, PLAIN, LineScan, ScanParams, scan_line


class PythonScanner:
    """The reference scanner: same interface as the native ``arenahub_logscan.Scanner``."""

    name = "python"

    def __init__(self, params: ScanParams) -> None:
        self.params = params

    def scan_line(self, line: bytes) -> LineScan:
        """The LineScan of one line."""
        return scan_line(line, self.params)

    def scan_chunk(self, data: bytes) -> tuple[int, list[tuple]]:
        """(number of lines, events) for ``data``; see chunk_events."""
        return chunk_events(data, self.params)


_OTHER_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x0c\x0e-\x1f\x7f]")


def plain_display(line: bytes, scan: LineScan, p: ScanParams) -> tuple[int, int] | None:
    """The (start, end) of the text a plain line shows, None when the line is notable.

    A line whose only control bytes are carriage returns shows its last non-empty segment,
    as arenahub.logpolicy.normalise.normalise_line does, and is plain when that segment is.
    """
    if scan == PLAIN:
        return None if len(line) > p.max_line_bytes else (0, len(line))
    if scan.flags != FLAG_CONTROL or _OTHER_CONTROL.search(line):
        return None
    start = end = 0
    at = 0
    for segment in line.split(b"\r"):
        if segment:
            start, end = at, at + len(segment)
        at += len(segment) + 1
    if end - start > p.max_line_bytes or scan_line(line[start:end], p) != PLAIN:
        return None
    return start, end


def chunk_events(data: bytes, p: ScanParams) -> tuple[int, list[tuple]]:
    """Splits ``data`` into lines (ending at ``\\n``; a last line without one counts) and
    returns (number of lines, events) in order: ``(0, lines, raw_start, raw_end, shown)`` for
    a run of plain lines (``shown``: what they show, a newline after each) and
    ``(1, index, start, end, scan)`` for a notable line (``start``/``end``: its bytes
    without the newline).
    """
    events: list[tuple] = []
    shown: list[bytes] = []
    lines = raw_start = raw_end = 0
    start = index = 0
    size = len(data)
    while start < size:
        end = data.find(b"\n", start)
        if end < 0:
            end = size
        line = data[start:end]
        scan = scan_line(line, p)
        display = plain_display(line, scan, p)
        if display is None:
            if lines:
                events.append((0, lines, raw_start, raw_end, b"".join(shown)))
                lines, shown = 0, []
            events.append((1, index, start, end, scan))
        else:
            if not lines:
                raw_start = start
            lines += 1
            raw_end = end
            shown.append(line[display[0]:display[1]] + b"\n")
        index += 1
        start = end + 1
    if lines:
        events.append((0, lines, raw_start, raw_end, b"".join(shown)))
    return index, events
