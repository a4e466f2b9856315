"""Dataset folders: the layout an admin registers and the parts each kind of job may see."""

from __future__ import annotations

import re
from pathlib import Path

from arenahub.core.errors import InvalidInput, UnprocessableInput

DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
REQUIRED_PARTS = ("train", "test/inputs", "test/annotations")

# What a job of each kind sees, as (folder inside the dataset, mount point in the sandbox).
# test/annotations is deliberately absent: only the scorer, outside the sandbox, reads it.
JOB_MOUNTS: dict[str, tuple[tuple[str, str], ...]] = {
    "train": (("train", "/data/train"),),
    "test": (("test/inputs", "/data/test/inputs"),),
}


def check_dataset_name(name: str) -> str:
    """The name if it is usable; raises UnprocessableInput explaining the allowed form."""
    if not DATASET_NAME.match(name):
        raise UnprocessableInput(
            f"Dataset name {name!r} is not allowed: use 1-63 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit.",
            reason="dataset-name-invalid",
        )
    return name


def check_dataset_folder(path: str) -> Path:
    """The resolved dataset folder; raises InvalidInput naming every missing part.

    The folder must be absolute and hold ``train/``, ``test/inputs/`` and ``test/annotations/``.
    """
    folder = Path(path)
    if not folder.is_absolute():
        raise InvalidInput(
            f"Dataset path {path!r} is relative; give the absolute path of the folder on the gateway's machine.",
            reason="dataset-path-invalid",
        )
    if not folder.is_dir():
        raise InvalidInput(
            f"Dataset folder {path} does not exist or is not a folder on the gateway's machine.",
            reason="dataset-path-invalid",
        )
    missing = [part + "/" for part in REQUIRED_PARTS if not (folder / part).is_dir()]
    if missing:
        raise InvalidInput(
            f"Dataset folder {path} lacks {', '.join(missing)}. A dataset holds train/ (seen by train "
            "jobs), test/inputs/ (seen by test jobs) and test/annotations/ (seen only by the scorer).",
            reason="dataset-layout-invalid",
        )
    return folder.resolve()


def dataset_mounts(kind: str, dataset_path: Path) -> list[tuple[Path, str]]:
    """(host folder, sandbox path) pairs a ``kind`` job gets read-only; never the annotations."""
    return [(dataset_path / part, target) for part, target in JOB_MOUNTS[kind]]
