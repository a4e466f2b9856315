"""The demo dataset "which animal, how many": clouds of 2-D points, generated deterministically from a seed.

Each sample is a cloud of 1-5 points drawn around one animal's centre (the same blobs the demo
job's train.py learns). The algorithm answers which animal and how many points the cloud has.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

LABELS = ("cat", "dog", "bird")
CENTRES = ((0.0, 2.0), (2.0, -1.0), (-2.0, -1.0))
NOISE = 1.1
MAX_POINTS = 5


def make_sample(rng: random.Random) -> tuple[dict[str, Any], dict[str, Any]]:
    """One (input, annotation) pair: ``{"points": [[x, y], ...]}`` and ``{"label": ..., "count": n}``."""
    label = rng.randrange(len(LABELS))
    cx, cy = CENTRES[label]
    count = rng.randint(1, MAX_POINTS)
    points = [[round(cx + rng.gauss(0, NOISE), 4), round(cy + rng.gauss(0, NOISE), 4)] for _ in range(count)]
    return {"points": points}, {"label": LABELS[label], "count": count}


def write_demo_dataset(folder: Path, *, seed: int = 7, n_train: int = 300, n_test: int = 100) -> Path:
    """Write the dataset into ``folder`` (created) and return it; the same seed writes the same bytes.

    Layout: ``train/samples.jsonl`` (one ``{"points", "label", "count"}`` per line),
    ``test/inputs/<id>.json`` and ``test/annotations/<id>.json`` with ids ``00000``, ``00001`` ...
    """
    rng = random.Random(seed)
    train = folder / "train"
    inputs = folder / "test" / "inputs"
    annotations = folder / "test" / "annotations"
    for part in (train, inputs, annotations):
        part.mkdir(parents=True, exist_ok=True)
    lines = []
    for _ in range(n_train):
        sample, truth = make_sample(rng)
        lines.append(json.dumps({**sample, **truth}, sort_keys=True))
    (train / "samples.jsonl").write_text("\n".join(lines) + "\n")
    for i in range(n_test):
        sample, truth = make_sample(rng)
        sample_id = f"{i:05d}"
        (inputs / f"{sample_id}.json").write_text(json.dumps(sample, sort_keys=True) + "\n")
        (annotations / f"{sample_id}.json").write_text(json.dumps(truth, sort_keys=True) + "\n")
    return folder
