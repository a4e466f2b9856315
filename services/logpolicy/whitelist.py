"""Decides one job's lines under ``whitelist``: templates, tracebacks cut to type and user frames."""

from __future__ import annotations

import re
from dataclasses import dataclass

from arenahub.logpolicy.templates import TemplateSet

_FIXED = {
    "Traceback (most recent call last):",
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
}
_FRAME = re.compile(r'  File "(.{1,400})", line (\d{1,9}), in (.{1,200})')
_EXCEPTION = re.compile(r"([A-Za-z_][\w.]{0,99}(?:Error|Exception|Warning|Interrupt|Exit|Iteration))(?:: (.*))?")
_WARNING = re.compile(r"(.{1,400}):(\d{1,9}): ([A-Za-z_]\w{0,99}Warning): (.*)")
# Frames in these places are library code; only the participant's own frames are shown.
_LIBRARY_MARKERS = ("site-packages", "dist-packages", "/lib/python3", "<frozen ", "/usr/lib/")


@dataclass(frozen=True)
class WhitelistVerdict:
    """What ``whitelist`` does with one line: shown text (None = withhold), cost, reason code."""

    shown: str | None
    cost_bytes: int = 0
    reason: str = ""
    template: str = ""


def _size(*parts: str) -> int:
    return sum(len(p.encode()) for p in parts)


class WhitelistMatcher:
    """Classifies one job's lines in order; remembers whether a traceback is open."""

    def __init__(self, templates: TemplateSet, message_chars: int) -> None:
        self.templates = templates
        self.message_chars = message_chars
        self.is_in_traceback = False

    def classify(self, text: str) -> WhitelistVerdict:
        """The verdict for the next line ``text`` (already normalised)."""
        stripped = text.rstrip()
        if stripped in _FIXED:
            self.is_in_traceback = stripped.startswith("Traceback")
            return WhitelistVerdict(stripped, 1, template="traceback")
        if not stripped:
            return WhitelistVerdict("", 1, template="blank")
        if self.is_in_traceback:
            frame = _FRAME.fullmatch(stripped)
            if frame:
                path, line, func = frame.groups()
                if any(marker in path for marker in _LIBRARY_MARKERS):
                    return WhitelistVerdict(None, reason="traceback-detail")
                return WhitelistVerdict(stripped, _size(path, line, func), template="traceback")
            if text[:1].isspace():
                return WhitelistVerdict(None, reason="traceback-detail")
            # The traceback ends here; its last line is shown only when it names an exception
            # type the usual way (...Error, ...Exception, ...), as any other line: a bare
            # identifier after a fake traceback header would otherwise pass as a "type".
            self.is_in_traceback = False
        exc = _EXCEPTION.fullmatch(stripped)
        if exc:
            return self._exception(exc.group(1), exc.group(2))
        warning = _WARNING.fullmatch(stripped)
        if warning:
            path, line, category, message = warning.groups()
            shown, is_cut = self._cut(message)
            return WhitelistVerdict(
                f"{path}:{line}: {category}: {shown}", _size(path, line, category, shown),
                "exception-truncated" if is_cut else "", "warning",
            )
        match = self.templates.match(stripped)
        if match:
            return WhitelistVerdict(text, match.cost_bytes, template=match.name)
        return WhitelistVerdict(None, reason="not-whitelisted")

    def _exception(self, kind: str, message: str | None) -> WhitelistVerdict:
        if message is None:
            return WhitelistVerdict(kind, _size(kind), template="exception")
        shown, is_cut = self._cut(message)
        return WhitelistVerdict(
            f"{kind}: {shown}", _size(kind, shown), "exception-truncated" if is_cut else "", "exception"
        )

    def _cut(self, message: str) -> tuple[str, bool]:
        if len(message) <= self.message_chars:
            return message, False
        return message[: self.message_chars] + "…", True
