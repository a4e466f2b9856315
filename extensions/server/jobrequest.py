"""What the panel asks the extension to run, checked before anything is packed or sent (pure).

The browser-side panel names a folder (relative to the server's root, or absolute inside it);
everything else becomes the gateway's job spec unchanged, so the gateway stays the judge of
GPU counts, time limits and datasets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from arenahub.core.errors import UnprocessableInput

JOB_KINDS = ("train", "test")
ENTRYPOINT_SUFFIXES = (".py", ".sh")


@dataclass(frozen=True)
class JobRequest:
    """A Train or Test click: the folder to snapshot and the spec for the gateway."""

    folder: str
    kind: str
    entrypoint: str
    gpus: int = 0
    time_limit_s: int | None = None
    dataset: str | None = None
    args: tuple[str, ...] = field(default_factory=tuple)
    env: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def gateway_spec(self) -> dict[str, Any]:
        """The ``spec`` JSON for POST /jobs."""
        spec: dict[str, Any] = {"kind": self.kind, "entrypoint": self.entrypoint, "gpus": self.gpus}
        if self.time_limit_s is not None:
            spec["time_limit_s"] = self.time_limit_s
        if self.dataset:
            spec["dataset"] = self.dataset
        if self.args:
            spec["args"] = list(self.args)
        if self.env:
            spec["env"] = dict(self.env)
        return spec


def _int_or_none(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise UnprocessableInput(f"{name} must be a whole number, got {value!r}.", reason="request-invalid")
    return value


def parse_job_request(data: Any) -> JobRequest:
    """The request in a POST /arenahub/jobs body; raises UnprocessableInput naming the bad field."""
    if not isinstance(data, dict):
        raise UnprocessableInput(
            'Send a JSON object such as {"folder": "demo", "kind": "train", "entrypoint": "train.py"}.',
            reason="request-invalid",
        )
    kind = data.get("kind")
    if kind not in JOB_KINDS:
        raise UnprocessableInput(f"No job kind {kind!r}. Valid: {', '.join(JOB_KINDS)}.", reason="kind-invalid")
    folder = data.get("folder", "")
    if not isinstance(folder, str):
        raise UnprocessableInput("folder must be a path such as 'demo'.", reason="request-invalid")
    entrypoint = data.get("entrypoint")
    if not isinstance(entrypoint, str) or not entrypoint.strip():
        raise UnprocessableInput(
            "Choose the entry point: the script in the job folder that starts the run, e.g. train.py.",
            reason="entrypoint-missing",
        )
    entry = PurePosixPath(entrypoint.strip())
    if entry.is_absolute() or ".." in entry.parts or entry.suffix not in ENTRYPOINT_SUFFIXES:
        raise UnprocessableInput(
            f"The entry point {entrypoint!r} must be a .py or .sh file inside the job folder, "
            "given relative to it (e.g. train.py or src/train.py).",
            reason="entrypoint-invalid",
        )
    gpus = _int_or_none(data, "gpus") or 0
    dataset = data.get("dataset") or None
    if dataset is not None and not isinstance(dataset, str):
        raise UnprocessableInput("dataset must be a dataset name.", reason="request-invalid")
    args = data.get("args") or []
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise UnprocessableInput("args must be a list of strings.", reason="request-invalid")
    env = data.get("env") or {}
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise UnprocessableInput('env must map names to strings, e.g. {"SEED": "1"}.', reason="request-invalid")
    return JobRequest(
        folder=folder, kind=kind, entrypoint=entry.as_posix(), gpus=gpus,
        time_limit_s=_int_or_none(data, "time_limit_s"), dataset=dataset, args=tuple(args),
        env=tuple(sorted(env.items())),
    )
