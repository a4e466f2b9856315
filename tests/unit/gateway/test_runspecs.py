"""Tests of arenahub.gateway.runspecs: what a run sees of its dataset, and its limits."""

from pathlib import Path

import pytest

from arenahub.gateway.runspecs import build_run_spec, code_dir_of
from arenahub.gateway.settings import RunSettings
from arenahub.gateway.specs import JobSpec

pytestmark = pytest.mark.unit

DATASET = Path("/srv/datasets/faces")


def run_spec(kind, dataset_path=DATASET, **fields):
    spec = JobSpec(kind=kind, entrypoint="main.py", time_limit_s=60, dataset="faces", **fields)
    return build_run_spec(
        job_id="j1", user="ada", spec=spec, code_dir=Path("/state/jobs/j1/code"), gpus=[2, 3],
        dataset_path=dataset_path, run=RunSettings(),
    )


def test_a_train_run_sees_only_the_train_folder_read_only():
    mounts = run_spec("train").mounts
    assert [(m.host, m.target, m.writable) for m in mounts] == [(DATASET / "train", "/data/train", False)]


def test_a_test_run_sees_only_the_test_inputs_read_only():
    mounts = run_spec("test").mounts
    assert [(m.host, m.target, m.writable) for m in mounts] == [(DATASET / "test/inputs", "/data/test/inputs", False)]


@pytest.mark.parametrize("kind", ["train", "test"])
def test_no_run_ever_gets_the_annotations(kind):
    assert not any("annotations" in str(m.host) or "annotations" in m.target for m in run_spec(kind).mounts)


def test_a_run_without_dataset_has_no_mounts():
    assert run_spec("train", dataset_path=None).mounts == []


def test_limits_follow_the_time_limit_and_the_settings():
    limits = run_spec("train").limits
    assert limits.wall_s == 60
    assert limits.cpu_s == 240  # 0 in the settings: 4 x wall clock
    assert limits.mem_bytes == RunSettings().mem_bytes


def test_the_run_gets_its_gpus_command_and_job_variables():
    spec = run_spec("train", env={"SEED": "1"})
    assert spec.gpus == [2, 3]
    assert spec.argv == ["python3", "main.py"]
    assert spec.env.items() >= {"SEED": "1", "ARENAHUB_JOB_ID": "j1", "ARENAHUB_JOB_KIND": "train",
                                "ARENAHUB_DATA_DIR": "/data"}.items()  # plus torchrun's (arenahub.gateway.multigpu)


def test_code_snapshots_live_under_the_state_folder():
    assert code_dir_of(Path("/state"), "abc") == Path("/state/jobs/abc/code")


def test_only_the_gateway_names_a_runs_competition(tmp_path):
    spec = JobSpec(kind="train", entrypoint="train.py", time_limit_s=60, env={"ARENAHUB_COMPETITION": "other"})
    common = dict(job_id="j1", user="ada", spec=spec, code_dir=tmp_path, gpus=[], dataset_path=None, run=RunSettings())
    assert build_run_spec(**common, competition="demo").env["ARENAHUB_COMPETITION"] == "demo"
    assert "ARENAHUB_COMPETITION" not in build_run_spec(**common).env
