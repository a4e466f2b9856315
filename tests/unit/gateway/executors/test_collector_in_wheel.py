"""The collector sidecar as the job-runner image runs it: from the arenahub wheel installed alone (--no-deps) in an empty venv."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from arenahub.jobrunner.outputframe import read_frame, unpack_outputs
from tests.unit.gateway.executors.collectorproc import log_after_sigterm
from tests.unit.images.test_image_installs import _pip, wheel  # noqa: F401  (the wheel fixture, built once)

pytestmark = pytest.mark.unit


def test_the_collector_runs_from_the_bare_wheel_and_prints_a_frame_on_sigterm(wheel: Path, tmp_path: Path):  # noqa: F811
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    _pip("--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    (outputs / "00001.json").write_text('{"label": "cat", "count": 3}')
    # cwd outside the repository: `python -m` puts the working folder (with arenahub/) on sys.path
    stdout = log_after_sigterm([str(python), "-I", "-B", "-m", "arenahub.jobrunner.collector", "--outputs", str(outputs)],
                               cwd=tmp_path)
    dest = tmp_path / "dest"
    dest.mkdir()
    assert unpack_outputs(read_frame(stdout.splitlines()), dest) == 1
    assert (dest / "00001.json").read_text() == '{"label": "cat", "count": 3}'
