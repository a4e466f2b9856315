"""Demo training job: a small softmax classifier on 2-D points, reporting loss and accuracy.

CPU-only and standard library only, so it runs in any sandbox in about 20 seconds:
``python train.py [--steps 200] [--step-seconds 0.1] [--seed 0]``. Each step prints a log
line now and then and one metric line through ``arenahub.sdk.report``, which the panel plots.
With the demo dataset mounted it trains on ``$ARENAHUB_DATA_DIR/train/samples.jsonl`` (see
arenahub/demo/README.md); without a dataset, on synthetic points from the same three blobs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from pathlib import Path

from arenahub.sdk import report

LABELS = ("cat", "dog", "bird")
CENTRES = ((0.0, 2.0), (2.0, -1.0), (-2.0, -1.0))


def make_points(rng: random.Random, n: int) -> list[tuple[tuple[float, float], int]]:
    """``n`` labelled points: each class is a noisy blob around its centre."""
    points = []
    for _ in range(n):
        label = rng.randrange(len(LABELS))
        cx, cy = CENTRES[label]
        points.append(((cx + rng.gauss(0, 1.6), cy + rng.gauss(0, 1.6)), label))
    return points


def softmax(scores: list[float]) -> list[float]:
    """Probabilities from raw class scores."""
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


class Classifier:
    """A linear softmax model: one weight pair and bias per class."""

    def __init__(self) -> None:
        self.w = [[0.0, 0.0] for _ in LABELS]
        self.b = [0.0 for _ in LABELS]

    def probabilities(self, x: tuple[float, float]) -> list[float]:
        """Class probabilities of point ``x``."""
        return softmax([w[0] * x[0] + w[1] * x[1] + b for w, b in zip(self.w, self.b)])

    def step(self, batch: list[tuple[tuple[float, float], int]], lr: float) -> float:
        """One gradient step on ``batch``; returns its mean cross-entropy loss."""
        grad_w = [[0.0, 0.0] for _ in LABELS]
        grad_b = [0.0 for _ in LABELS]
        loss = 0.0
        for x, y in batch:
            p = self.probabilities(x)
            loss -= math.log(max(p[y], 1e-12))
            for k in range(len(LABELS)):
                g = p[k] - (1.0 if k == y else 0.0)
                grad_w[k][0] += g * x[0]
                grad_w[k][1] += g * x[1]
                grad_b[k] += g
        for k in range(len(LABELS)):
            self.w[k][0] -= lr * grad_w[k][0] / len(batch)
            self.w[k][1] -= lr * grad_w[k][1] / len(batch)
            self.b[k] -= lr * grad_b[k] / len(batch)
        return loss / len(batch)

    def accuracy(self, points: list[tuple[tuple[float, float], int]]) -> float:
        """Share of ``points`` whose most likely class is their label."""
        right = sum(1 for x, y in points if max(range(len(LABELS)), key=lambda k: self.probabilities(x)[k]) == y)
        return right / len(points)


def load_points(samples: Path) -> list[tuple[tuple[float, float], int]]:
    """Every point of the demo dataset's ``samples.jsonl`` with its cloud's label; skips lines it cannot read."""
    points = []
    for line in samples.read_text().splitlines():
        try:
            sample = json.loads(line)
            label = LABELS.index(sample["label"])
            points += [((float(x), float(y)), label) for x, y in sample["points"]]
        except (ValueError, KeyError, TypeError):
            continue
    return points


def training_points(rng: random.Random) -> list[tuple[tuple[float, float], int]]:
    """The mounted dataset's points (``$ARENAHUB_DATA_DIR/train/samples.jsonl``), or synthetic ones without it."""
    samples = Path(os.environ.get("ARENAHUB_DATA_DIR", "/data")) / "train" / "samples.jsonl"
    points = load_points(samples) if samples.is_file() else []
    if points:
        print(f"training data: {len(points)} points from {samples}", flush=True)
        return points
    print("no training data mounted; training on synthetic points", flush=True)
    return make_points(rng, 600)


def main(argv: list[str] | None = None) -> int:
    """Train for ``--steps`` steps and report loss and accuracy at each; returns the exit status."""
    parser = argparse.ArgumentParser(description="arenahub demo training job")
    parser.add_argument("--steps", type=int, default=200, help="gradient steps (default 200)")
    parser.add_argument("--step-seconds", type=float, default=0.1,
                        help="pause after each step so the curve grows visibly (default 0.1 s)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    points = training_points(rng)
    rng.shuffle(points)
    split = max(1, len(points) // 4)
    held_out, train = points[:split], points[split:]
    model = Classifier()
    started = time.monotonic()
    for step in range(1, args.steps + 1):
        loss = model.step(rng.sample(train, min(64, len(train))), lr=0.02)
        acc = model.accuracy(held_out) if step % 5 == 0 or step == 1 else None
        if acc is None:
            report(step, loss=loss)
        else:
            report(step, loss=loss, acc=acc)
        if step % 20 == 0 or step == 1:
            print(f"step {step}/{args.steps} loss={loss:.4f} ({time.monotonic() - started:.1f} s)", flush=True)
        time.sleep(args.step_seconds)
    print(f"done: held-out accuracy {model.accuracy(held_out):.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
