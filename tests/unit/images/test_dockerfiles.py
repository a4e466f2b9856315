"""The project's Dockerfile rules, on the three images and on small bad examples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.images.dockerfiles import base_images, final_user, is_pinned, parse_dockerfile, problems

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]
IMAGES = REPO / "images"
DOCKERFILES = sorted(IMAGES.glob("*/Dockerfile"))


def test_there_are_hub_notebook_and_job_runner_images():
    assert [p.parent.name for p in DOCKERFILES] == ["hub", "job-runner", "notebook"]


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_each_image_follows_the_project_rules(dockerfile: Path):
    assert problems(dockerfile.read_text(), REPO) == []


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_each_image_runs_as_uid_1000(dockerfile: Path):
    assert final_user(parse_dockerfile(dockerfile.read_text())).split(":")[0] == "1000"


def test_notebook_base_is_a_cuda_image_chosen_by_build_argument():
    instructions = parse_dockerfile((IMAGES / "notebook" / "Dockerfile").read_text())
    last_from = [ins for ins in instructions if ins.keyword == "FROM"][-1]
    assert last_from.args == "${CUDA_BASE_IMAGE}"
    assert base_images(instructions)[-1].startswith("docker.io/nvidia/cuda:")


def test_notebook_server_has_the_arenahub_extension_on_and_lab_news_and_extension_manager_off():
    copied = {ins.args.split()[-1]: ins.args.split()[0]
              for ins in parse_dockerfile((IMAGES / "notebook" / "Dockerfile").read_text())
              if ins.keyword == "COPY" and not ins.args.startswith("--from")}
    server = json.loads((REPO / copied["/etc/jupyter/jupyter_server_config.json"]).read_text())
    assert server["ServerApp"]["jpserver_extensions"]["arenahub.extensions"] is True
    assert server["LabApp"]["news_url"] is None
    assert server["LabApp"]["extension_manager"] == "readonly"
    page = json.loads((REPO / copied["/etc/jupyter/labconfig/page_config.json"]).read_text())
    assert page["disabledExtensions"]["@jupyterlab/apputils-extension:announcements"] is True


def test_job_runner_installs_arenahub_without_its_dependencies():
    runs = [ins.args for ins in parse_dockerfile((IMAGES / "job-runner" / "Dockerfile").read_text())
            if ins.keyword == "RUN" and "arenahub-*.whl" in ins.args]
    assert runs and all("--no-deps" in run for run in runs)


@pytest.mark.parametrize("image, pinned", [
    ("docker.io/library/python:3.12.8-slim-bookworm", True),
    ("python@sha256:" + "a" * 64, True),
    ("python:latest", False),
    ("python", False),
    ("registry:5000/python", False),
    ("python:slim", False),
])
def test_a_base_is_pinned_only_by_a_version_tag_or_a_digest(image, pinned):
    assert is_pinned(image) is pinned


@pytest.mark.parametrize("dockerfile, problem", [
    ("FROM python:3.12\nRUN echo hi\n", "runs as root (no USER)"),
    ("FROM python:3.12\nUSER root\n", "runs as root"),
    ("FROM python:latest\nUSER 1000\n", "is not pinned"),
    ("ARG BASE=ubuntu\nFROM ${BASE}\nUSER 1000\n", "'ubuntu' is not pinned"),
    ("FROM python:3.12\nADD https://example.org/x.tgz /x\nUSER 1000\n", "ADD of a URL"),
    ("FROM python:3.12\nADD x.tgz /x\nUSER 1000\n", "use COPY"),
    ("FROM python:3.12\nRUN apt-get update && \\\n    apt-get install -y git\nUSER 1000\n", "--no-install-recommends"),
    ("FROM python:3.12\nRUN apt-get install -y --no-install-recommends git\nUSER 1000\n", "/var/lib/apt/lists"),
    ("FROM python:3.12\nRUN pip install numpy\nUSER 1000\n", "--no-cache-dir"),
    ("FROM python:3.12\nRUN curl -fsSL https://x.sh | sh\nUSER 1000\n", "piped into a shell"),
    ("FROM python:3.12\nCOPY no-such-folder /x\nUSER 1000\n", "'no-such-folder' does not exist"),
])
def test_a_dockerfile_breaking_a_rule_is_reported(tmp_path, dockerfile, problem):
    assert any(problem in p for p in problems(dockerfile, tmp_path))


def test_continued_lines_and_comments_inside_them_are_joined_into_one_instruction():
    [from_, run] = parse_dockerfile("FROM a:1\nRUN one \\\n    # note\n    && two\n")
    assert (run.keyword, run.args, run.line) == ("RUN", "one && two", 2)
