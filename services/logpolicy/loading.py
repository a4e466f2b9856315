"""Reads a log policy file: the one function of arenahub.logpolicy that touches storage."""

from __future__ import annotations

from pathlib import Path

from arenahub.logpolicy.policy import Policy, PolicyError, parse_policy


def load_policy(source: str | Path) -> Policy:
    """The Policy in a YAML file (``Path``) or YAML text (``str``); raises PolicyError.

    The error's problems name the file and line, e.g. ``policy.yaml:3: max_line_bytes: ...``.
    """
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicyError(str(source), [f"{source}: cannot read the policy file: {exc}"]) from None
        return parse_policy(text, str(source))
    return parse_policy(source, "policy.yaml")
