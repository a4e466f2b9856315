"""The job spec a participant submits, and its checks against the gateway's limits (pure)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from arenahub.core.errors import InvalidInput, UnprocessableInput

ENTRYPOINT_RUNNERS = {".py": "python", ".sh": "bash"}


class JobSpec(BaseModel):
    """What to run: the kind, the entry point inside the uploaded folder, GPUs, time and dataset."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["train", "test"] = Field(description="train: sees dataset train/; test: sees test/inputs/.")
    entrypoint: str = Field(description="Path of a .py or .sh file inside the uploaded folder.")
    args: list[str] = Field(default_factory=list, description="Extra command-line arguments.")
    gpus: int = Field(0, description="Whole GPUs on one node; 0 runs on CPU only.")
    time_limit_s: int | None = Field(None, description="Wall-clock limit; empty takes the gateway default.")
    dataset: str | None = Field(None, description="Registered dataset name; test jobs need one.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment variables (no secrets).")


def parse_spec(raw: str | bytes) -> JobSpec:
    """Parse the ``spec`` form field; raises UnprocessableInput naming each bad field."""
    try:
        data: Any = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"The spec is not valid JSON ({exc}). Send an object such as "
            '{"kind": "train", "entrypoint": "train.py", "gpus": 1}.',
            reason="spec-not-json",
        ) from exc
    try:
        return JobSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'spec'}: {err['msg']}" for err in exc.errors()
        )
        raise UnprocessableInput(f"The spec has problems: {problems}.", reason="spec-invalid") from exc


def check_spec(spec: JobSpec, *, gpu_cap: int, max_time_limit_s: int, default_time_limit_s: int) -> JobSpec:
    """The spec with its time limit filled in; raises UnprocessableInput for values out of range."""
    if spec.gpus < 0:
        raise UnprocessableInput(
            f"gpus is {spec.gpus}; ask for 0 (CPU only) or more whole GPUs.", reason="gpus-negative"
        )
    if spec.gpus > gpu_cap:
        raise UnprocessableInput(
            f"gpus is {spec.gpus}, but one job may use at most {gpu_cap} whole GPUs here "
            "(ARENAHUB_GATEWAY_LIMITS__MAX_GPUS_PER_JOB, or the largest node). Ask for fewer.",
            reason="gpus-over-cap",
        )
    time_limit_s = default_time_limit_s if spec.time_limit_s is None else spec.time_limit_s
    if not 1 <= time_limit_s <= max_time_limit_s:
        raise UnprocessableInput(
            f"time_limit_s is {time_limit_s}; choose 1 to {max_time_limit_s} seconds.",
            reason="time-limit-out-of-range",
        )
    entry = PurePosixPath(spec.entrypoint)
    if entry.is_absolute() or ".." in entry.parts or not [p for p in entry.parts if p != "."]:
        raise UnprocessableInput(
            f"entrypoint {spec.entrypoint!r} must be a relative path inside the uploaded folder, "
            "e.g. train.py or src/train.py.",
            reason="entrypoint-invalid",
        )
    if entry.suffix not in ENTRYPOINT_RUNNERS:
        raise UnprocessableInput(
            f"entrypoint {spec.entrypoint!r} has no runnable suffix. "
            f"Valid suffixes: {', '.join(ENTRYPOINT_RUNNERS)}.",
            reason="entrypoint-invalid",
        )
    if spec.kind == "test" and not spec.dataset:
        raise UnprocessableInput(
            "A test job runs on a dataset's hidden test inputs; name the dataset in spec.dataset.",
            reason="dataset-missing",
        )
    bad_env = sorted(name for name in spec.env if not name.isidentifier() or name.startswith("ARENAHUB_"))
    if bad_env:
        raise UnprocessableInput(
            f"env names {', '.join(bad_env)} are not allowed: use letters, digits and _ and "
            "do not start with ARENAHUB_ (the gateway sets those).",
            reason="env-invalid",
        )
    entrypoint = "/".join(part for part in entry.parts if part != ".")
    return spec.model_copy(update={"time_limit_s": time_limit_s, "entrypoint": entrypoint})


def build_argv(spec: JobSpec, *, python: str) -> list[str]:
    """The command run inside the sandbox: ``python entry.py args...`` or ``bash entry.sh args...``."""
    runner = ENTRYPOINT_RUNNERS[PurePosixPath(spec.entrypoint).suffix]
    return [python if runner == "python" else runner, spec.entrypoint, *spec.args]
