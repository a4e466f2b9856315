"""Tests of arenahub.gateway.specs: a job spec is parsed, range-checked and turned into a command."""

import json

import pytest

from arenahub.core.errors import InvalidInput, UnprocessableInput
from arenahub.gateway.specs import build_argv, check_spec, parse_spec

pytestmark = pytest.mark.unit

LIMITS = {"gpu_cap": 4, "max_time_limit_s": 7200, "default_time_limit_s": 600}


def checked(**fields):
    return check_spec(parse_spec(json.dumps({"kind": "train", "entrypoint": "train.py", **fields})), **LIMITS)


def test_a_minimal_spec_gets_the_default_time_limit():
    spec = checked()
    assert (spec.kind, spec.gpus, spec.time_limit_s, spec.dataset) == ("train", 0, 600, None)


@pytest.mark.parametrize("fields, reason", [
    ({"gpus": -1}, "gpus-negative"),
    ({"gpus": 5}, "gpus-over-cap"),
    ({"time_limit_s": 0}, "time-limit-out-of-range"),
    ({"time_limit_s": 7201}, "time-limit-out-of-range"),
    ({"entrypoint": "/etc/passwd.py"}, "entrypoint-invalid"),
    ({"entrypoint": "../train.py"}, "entrypoint-invalid"),
    ({"entrypoint": "train.exe"}, "entrypoint-invalid"),
    ({"kind": "test"}, "dataset-missing"),
    ({"env": {"ARENAHUB_JOB_ID": "x"}}, "env-invalid"),
    ({"env": {"NOT VALID": "x"}}, "env-invalid"),
    ({"kind": "evaluate"}, "spec-invalid"),
    ({"gpus": "two"}, "spec-invalid"),
    ({"surprise": 1}, "spec-invalid"),
])
def test_out_of_range_values_are_unprocessable(fields, reason):
    with pytest.raises(UnprocessableInput) as caught:
        checked(**fields)
    assert caught.value.reason == reason
    assert caught.value.status == 422


def test_a_spec_that_is_not_json_is_a_bad_request():
    with pytest.raises(InvalidInput) as caught:
        parse_spec("{kind: train")
    assert caught.value.status == 400


def test_the_gpu_error_names_the_cap():
    with pytest.raises(UnprocessableInput, match="at most 4 whole GPUs"):
        checked(gpus=9)


@pytest.mark.parametrize("entrypoint, argv", [
    ("train.py", ["python3", "train.py", "--epochs", "2"]),
    ("./src/train.py", ["python3", "src/train.py", "--epochs", "2"]),
    ("run.sh", ["bash", "run.sh", "--epochs", "2"]),
])
def test_the_command_runs_the_entrypoint_with_its_interpreter(entrypoint, argv):
    assert build_argv(checked(entrypoint=entrypoint, args=["--epochs", "2"]), python="python3") == argv
