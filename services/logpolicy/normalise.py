"""Turns a raw output line into the text a terminal would show: no escapes, no control bytes."""

from __future__ import annotations

import re

# CSI (colours, cursor moves), OSC (titles, hyperlinks) and two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def normalise_line(raw: bytes) -> str:
    """The visible text of ``raw``: invalid UTF-8 replaced, the last carriage-return segment
    kept (tqdm redraws a bar with ``\\r``), ANSI escapes removed, backspaces applied, and any
    other control byte dropped.
    """
    text = raw.decode("utf-8", "replace")
    if "\r" in text:
        segments = [s for s in text.split("\r") if s]
        text = segments[-1] if segments else ""
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "\b" in text:
        shown: list[str] = []
        for ch in text:
            if ch == "\b":
                if shown:
                    shown.pop()
            else:
                shown.append(ch)
        text = "".join(shown)
    return _CONTROL.sub("", text)
