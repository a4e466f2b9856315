"""The panel's log view: a bounded buffer of shown lines, withheld lines collapsed into markers, as HTML (pure)."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

# Shown actions that stand for withheld lines: the policy's "marker" lines ("[12 lines withheld:
# encoded-data]") and bare "withhold" placeholders, a run of which becomes one marker.
WITHHELD_ACTIONS = ("withhold", "marker")
# A marker the policy itself wrote, e.g. "[12 lines withheld: encoded-data]".
_MARKER_RE = re.compile(r"^\[\d+ lines? withheld\b.*\]$")


@dataclass
class LogEntry:
    """One line of the view: a shown line, or a marker standing for ``count`` withheld lines."""

    seq: int
    stream: str
    text: str
    kind: str  # "line", "metric", "redacted" or "withheld"
    count: int = 1


def classify(line: Mapping[str, Any]) -> str:
    """The view kind of a gateway log line (its ``action`` and ``text``)."""
    action = str(line.get("action", "show"))
    text = str(line.get("text", ""))
    if action in WITHHELD_ACTIONS or _MARKER_RE.match(text.strip()):
        return "withheld"
    if action == "redact":
        return "redacted"
    if action == "metric":
        return "metric"
    return "line"


class LogBuffer:
    """The last ``max_lines`` entries of a job's log, with counts of what scrolled out."""

    def __init__(self, max_lines: int = 1000) -> None:
        self.max_lines = max_lines
        self.entries: deque[LogEntry] = deque()
        self.dropped = 0
        self.last_seq: int | None = None
        self.version = 0  # bumps on every change, so a renderer can skip unchanged views

    def add(self, lines: Iterable[Mapping[str, Any]]) -> None:
        """Append gateway log lines (dicts with seq, stream, text, action), skipping ones already seen."""
        for line in lines:
            seq = int(line.get("seq", -1))
            if self.last_seq is not None and seq <= self.last_seq:
                continue
            self.last_seq = seq
            kind = classify(line)
            text = str(line.get("text", ""))
            last = self.entries[-1] if self.entries else None
            if kind == "withheld" and last is not None and last.kind == "withheld" and not _MARKER_RE.match(text.strip()):
                last.count += 1
            else:
                self.entries.append(LogEntry(seq, str(line.get("stream", "stdout")), text, kind))
            while len(self.entries) > self.max_lines:
                self.entries.popleft()
                self.dropped += 1
            self.version += 1

    def clear(self) -> None:
        """Forget every line (another job was selected)."""
        self.entries.clear()
        self.dropped = 0
        self.last_seq = None
        self.version += 1


def _entry_html(entry: LogEntry) -> str:
    if entry.kind == "withheld":
        if _MARKER_RE.match(entry.text.strip()):
            label = entry.text.strip()
        else:
            noun = "line" if entry.count == 1 else "lines"
            label = f"[{entry.count} {noun} withheld by the log policy]"
        return (f'<div class="arenahub-log-withheld" style="color:#8a5a00;background:#fff4d6;'
                f'font-style:italic">⚠ {escape(label)}</div>')
    if entry.kind == "redacted":
        return (f'<div class="arenahub-log-redacted" style="background:#fff4d6" title="part of this line was '
                f'redacted by the log policy">{escape(entry.text)}</div>')
    if entry.kind == "metric":
        return f'<div class="arenahub-log-metric" style="color:#2a6f97">{escape(entry.text)}</div>'
    color = "#b00020" if entry.stream == "stderr" else "inherit"
    return f'<div class="arenahub-log-line" style="color:{color}">{escape(entry.text) or "&nbsp;"}</div>'


def render_log_html(buffer: LogBuffer, *, empty_text: str = "No log lines yet.") -> str:
    """The log view's lines as HTML, oldest first; the LogView widget scrolls them (logwidget.py)."""
    if buffer.entries:
        body = "".join(_entry_html(e) for e in buffer.entries)
        if buffer.dropped:
            body = (f'<div style="color:#666">… {buffer.dropped} earlier lines are not shown here '
                    "(the panel keeps the last lines only)</div>") + body
    else:
        body = f'<div style="color:#666">{escape(empty_text)}</div>'
    return f'<div class="arenahub-log-lines">{body}</div>'
