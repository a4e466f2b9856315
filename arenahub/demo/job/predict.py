"""Demo test job for the "what and how many" competition: one JSON answer per hidden test input.

``python predict.py`` reads every file in ``$ARENAHUB_DATA_DIR/test/inputs`` (sample id = file
name without its suffix) and writes ``outputs/<sample id>.json`` in the working folder, e.g.
``{"label": "cat", "count": 3}``; the scorer reads that folder after the run. An input is a
JSON object ``{"points": [[x, y], ...]}`` (one blob of points from train.py's classes): the
answer is the class whose centre is nearest the points' mean, and how many points there are.
Inputs it cannot read get the baseline answer ``{"label": "cat", "count": 1}`` and a log line.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from arenahub.sdk import report

LABELS = ("cat", "dog", "bird")
CENTRES = ((0.0, 2.0), (2.0, -1.0), (-2.0, -1.0))
BASELINE = {"label": "cat", "count": 1}


def predict(points: list[list[float]]) -> dict[str, object]:
    """The answer for one input: nearest class centre to the mean point, and the point count."""
    if not points:
        return {"label": LABELS[0], "count": 0}
    mx = sum(p[0] for p in points) / len(points)
    my = sum(p[1] for p in points) / len(points)
    nearest = min(range(len(LABELS)), key=lambda k: math.dist((mx, my), CENTRES[k]))
    return {"label": LABELS[nearest], "count": len(points)}


def read_points(path: Path) -> list[list[float]] | None:
    """The input's points, or None when the file is not the expected JSON shape."""
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    points = doc.get("points") if isinstance(doc, dict) else None
    if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
        return None
    return points


def main() -> int:
    """Answer every input; returns the exit status (1 when there are no inputs at all)."""
    inputs = Path(os.environ.get("ARENAHUB_DATA_DIR", "/data")) / "test" / "inputs"
    outputs = Path(os.environ.get("ARENAHUB_OUTPUT_DIR", "outputs"))
    if not inputs.is_dir():
        print(f"no test inputs at {inputs}: run this as a Test job with a dataset chosen", file=sys.stderr)
        return 1
    outputs.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in inputs.iterdir() if p.is_file())
    unreadable = 0
    for done, path in enumerate(files, start=1):
        points = read_points(path)
        if points is None:
            unreadable += 1
            print(f"{path.name}: not a points file, answering the baseline", flush=True)
        answer = BASELINE if points is None else predict(points)
        (outputs / f"{path.stem}.json").write_text(json.dumps(answer))
        if done % 10 == 0 or done == len(files):
            report(done, answered=done, unreadable=unreadable)
    print(f"wrote {len(files)} answers to {outputs}/ ({unreadable} baseline answers)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
