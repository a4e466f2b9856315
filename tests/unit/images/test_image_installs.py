"""The images' install steps, run here without a container engine: the wheel stage builds the
arenahub wheel from exactly what the Dockerfiles COPY, the job runner's SDK-only install works
in an empty venv, and the hub and notebook requirement sets resolve with pip (offline, against
the project's environment, so a misspelt or conflicting requirement fails)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.images.dockerfiles import copy_sources, parse_dockerfile

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
IMAGES = REPO / "images"


def _wheel_stage_sources(dockerfile: Path) -> list[str]:
    instructions = parse_dockerfile(dockerfile.read_text())
    second_from = [i for i, ins in enumerate(instructions) if ins.keyword == "FROM"][1]
    return copy_sources(instructions[:second_from])


def _pip(*args: str, timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The arenahub wheel, built like the images' wheel stage from a copy of only what it COPYs."""
    sources = _wheel_stage_sources(IMAGES / "hub" / "Dockerfile")
    for other in ("notebook", "job-runner"):
        assert _wheel_stage_sources(IMAGES / other / "Dockerfile") == sources  # one wheel for all three
    context = tmp_path_factory.mktemp("context")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "logpolicy_native")
    for source in sources:
        src = REPO / source
        if src.is_dir():
            shutil.copytree(src, context / source, ignore=ignore)
        else:
            shutil.copy2(src, context / source)
    out = tmp_path_factory.mktemp("wheels")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(context),
         timeout_s=180)
    [built] = out.glob("arenahub-*.whl")
    return built


def test_the_wheel_holds_every_part_and_the_hub_config_files(wheel: Path):
    import zipfile

    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ("arenahub/sdk/report.py", "arenahub/spawner/kube.py", "arenahub/gateway/app.py",
                   "arenahub/hub_config/culler_config.py", "arenahub/extensions/handlers.py"):
        assert module in names
    assert any(n.startswith("arenahub/gateway/migrations/") and n.endswith(".py") for n in names)


def test_job_runner_sdk_works_installed_alone_in_an_empty_venv(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    script = ("from arenahub.sdk import report; report(3, loss=0.5, acc=0.9); "
              "import sys; print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
              "('pydantic', 'yaml', 'fastapi', 'jupyterhub', 'numpy')))")
    # run outside the repository: `python -c` puts the working folder (with arenahub/) on sys.path
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    metric_line, imported = done.stdout.strip().splitlines()
    assert "loss" in metric_line and "3" in metric_line
    assert imported == "[]"  # nothing but the stdlib and arenahub came along


@pytest.mark.parametrize("image", ["hub", "notebook"])
def test_image_requirements_resolve_with_the_wheel(wheel: Path, image: str, tmp_path: Path):
    report = tmp_path / "report.json"
    _pip("install", "--dry-run", "--no-index", "--ignore-requires-python", "--report", str(report),
         "-r", str(IMAGES / image / "requirements.txt"), str(wheel))
    to_install = [item["metadata"]["name"] for item in json.loads(report.read_text())["install"]]
    # every other requirement is already satisfied by an environment built from pyproject.toml
    assert to_install == ["arenahub"]
