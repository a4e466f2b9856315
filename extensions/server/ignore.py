"""``.arenaignore`` rules: gitignore-like patterns that keep files out of a job snapshot (pure).

Supported, as in https://git-scm.com/docs/gitignore#_pattern_format: ``#`` comments, blank
lines, ``!`` to re-include, a trailing ``/`` for folders only, a ``/`` at the start or in the
middle to anchor the pattern at the job folder's top, ``*``, ``?``, ``[a-z]`` and ``**``.
As in git, a file inside an ignored folder cannot be re-included.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

IGNORE_FILE = ".arenaignore"
# Left out of every snapshot unless a rule re-includes them: tool caches and version control.
DEFAULT_PATTERNS = (".git/", ".ipynb_checkpoints/", "__pycache__/", "*.pyc", ".DS_Store")


@dataclass(frozen=True)
class IgnoreRule:
    """One compiled pattern: what it matches, whether it re-includes, whether it needs a folder."""

    pattern: str
    regex: re.Pattern[str]
    negate: bool
    folders_only: bool


def _translate(glob: str) -> str:
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("/**", i) and i + 3 == len(glob):
            out.append("/.*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = glob.find("]", i + 2 if glob[i + 1 : i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(c))
                i += 1
                continue
            body = glob[i + 1 : end]
            if body[:1] in ("!", "^"):
                body = "^" + body[1:]
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = end + 1
        elif c == "\\" and i + 1 < len(glob):
            out.append(re.escape(glob[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


def compile_rule(line: str) -> IgnoreRule | None:
    """The rule for one line of an ignore file; None for blank lines and comments."""
    text = line.rstrip("\n\r")
    if not text.strip() or text.startswith("#"):
        return None
    text = text.rstrip(" ")  # trailing spaces are not part of the pattern (as in git)
    negate = text.startswith("!")
    if negate:
        text = text[1:]
    elif text.startswith("\\#") or text.startswith("\\!"):
        text = text[1:]
    folders_only = text.endswith("/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text
    text = text.lstrip("/")
    prefix = "" if anchored else "(?:.*/)?"
    return IgnoreRule(line.strip(), re.compile(f"^{prefix}{_translate(text)}$"), negate, folders_only)


def compile_rules(lines: Iterable[str]) -> list[IgnoreRule]:
    """The rules of an ignore file's lines, in order (later rules win)."""
    return [rule for rule in map(compile_rule, lines) if rule is not None]


def default_rules() -> list[IgnoreRule]:
    """The rules every snapshot starts from (a .arenaignore can re-include with ``!``)."""
    return compile_rules(DEFAULT_PATTERNS)


def is_ignored(rules: Sequence[IgnoreRule], path: str, is_folder: bool) -> bool:
    """True when ``path`` (relative, ``/``-separated) is ignored: the last matching rule decides."""
    ignored = False
    for rule in rules:
        if rule.folders_only and not is_folder:
            continue
        if rule.regex.match(path):
            ignored = not rule.negate
    return ignored
