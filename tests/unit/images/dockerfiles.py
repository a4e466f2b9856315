"""A small Dockerfile reader and the project's image rules, beside hadolint (test_hadolint.py).

Pure: text in, instructions and problems out. The rules are the ones that matter for arenahub's
images (pinned bases, non-root, no remote ADD, lean apt/pip layers; some overlap hadolint's),
plus checks hadolint cannot make: COPY sources exist in the build context (the repository root).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: its keyword (upper case), its argument text and its first line."""

    keyword: str
    args: str
    line: int


def parse_dockerfile(text: str) -> list[Instruction]:
    """The instructions of ``text``: comments dropped, backslash continuations joined."""
    instructions: list[Instruction] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are skipped by Docker too
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1].rstrip() + " "
            continue
        full = (pending + stripped).strip()
        pending = ""
        keyword, _, args = full.partition(" ")
        instructions.append(Instruction(keyword.upper(), args.strip(), start))
    return instructions


def arg_defaults(instructions: Iterable[Instruction]) -> dict[str, str]:
    """Build arguments declared before the first FROM, with their default values."""
    defaults: dict[str, str] = {}
    for ins in instructions:
        if ins.keyword == "FROM":
            break
        if ins.keyword == "ARG" and "=" in ins.args:
            name, _, value = ins.args.partition("=")
            defaults[name.strip()] = value.strip().strip('"')
    return defaults


def expand(text: str, variables: Mapping[str, str]) -> str:
    """``text`` with ``$NAME`` and ``${NAME}`` replaced from ``variables`` (unknown ones kept)."""
    return re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m.group(1), m.group(0)), text)


def base_images(instructions: list[Instruction]) -> list[str]:
    """The image each FROM starts from, build arguments expanded; stage names are left out."""
    defaults = arg_defaults(instructions)
    stages: set[str] = set()
    images = []
    for ins in instructions:
        if ins.keyword != "FROM":
            continue
        words = [w for w in ins.args.split() if not w.startswith("--")]
        image = expand(words[0], defaults)
        if image not in stages:
            images.append(image)
        if len(words) >= 3 and words[1].upper() == "AS":
            stages.add(words[2])
    return images


def is_pinned(image: str) -> bool:
    """True for ``name@sha256:...`` or a tag with a version number that is not ``latest``."""
    if "@sha256:" in image:
        return True
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:  # no tag at all ("registry:5000/x" has its colon in the host)
        return False
    return tag != "latest" and bool(re.search(r"\d", tag))


def final_user(instructions: list[Instruction]) -> str | None:
    """The USER in force in the last stage (None when that stage sets none: root)."""
    last_from = max(i for i, ins in enumerate(instructions) if ins.keyword == "FROM")
    users = [ins.args for ins in instructions[last_from:] if ins.keyword == "USER"]
    return users[-1] if users else None


def copy_sources(instructions: Iterable[Instruction]) -> list[str]:
    """Build-context paths that COPY instructions read (COPY --from=<stage> is skipped)."""
    sources: list[str] = []
    for ins in instructions:
        if ins.keyword != "COPY":
            continue
        words = shlex.split(ins.args)
        if any(w.startswith("--from=") for w in words):
            continue
        paths = [w for w in words if not w.startswith("--")]
        sources.extend(paths[:-1])
    return sources


def problems(text: str, context: Path) -> list[str]:
    """Every rule the Dockerfile ``text`` breaks, as 'line N: what and why'; empty when it is fine.

    ``context`` is the build context the COPY sources must exist in.
    """
    instructions = parse_dockerfile(text)
    found: list[str] = []
    if not any(ins.keyword == "FROM" for ins in instructions):
        return ["no FROM instruction"]
    for image in base_images(instructions):
        if not is_pinned(image):
            found.append(f"base image {image!r} is not pinned to a version tag or digest")
    user = final_user(instructions)
    if user is None or user.split(":")[0] in ("root", "0"):
        found.append(f"the final stage runs as {user or 'root (no USER)'}; set USER to a non-root uid")
    for ins in instructions:
        where = f"line {ins.line}"
        if ins.keyword == "ADD" and re.search(r"https?://", ins.args):
            found.append(f"{where}: ADD of a URL; download in a RUN with a checksum, or COPY a vendored file")
        elif ins.keyword == "ADD":
            found.append(f"{where}: ADD; use COPY (ADD unpacks archives and fetches URLs implicitly)")
        if ins.keyword != "RUN":
            continue
        if "apt-get install" in ins.args:
            if "--no-install-recommends" not in ins.args:
                found.append(f"{where}: apt-get install without --no-install-recommends")
            if "rm -rf /var/lib/apt/lists" not in ins.args:
                found.append(f"{where}: apt-get install without removing /var/lib/apt/lists in the same layer")
        if re.search(r"\bpip3? install\b", ins.args) and "--no-cache-dir" not in ins.args:
            found.append(f"{where}: pip install without --no-cache-dir")
        if re.search(r"(curl|wget)[^|]*\|\s*(ba|z)?sh", ins.args):
            found.append(f"{where}: a downloaded script is piped into a shell")
        if re.search(r"\bsudo\b", ins.args):
            found.append(f"{where}: sudo in a build step")
    for source in copy_sources(instructions):
        if not list(context.glob(source)):
            found.append(f"COPY source {source!r} does not exist in the build context {context}")
    return found
