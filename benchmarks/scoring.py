"""Scoring benchmark (issue 7): the demo template on 10,000 JSON samples and box mAP on 1,000 images.

Each figure is the median of ``--repeat`` runs, next to a baseline doing the same work without
the template machinery: a hand-written loop for the JSON task, a straight pycocotools call for
mAP. Both sides must agree on the score, or the script fails.
Run: ``.venv/bin/python benchmarks/scoring.py``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import tempfile
from pathlib import Path

from arenahub.scoring import DEMO_TEMPLATE, build_template, load_template_text, score, score_test_run

LABELS = ["cat", "dog", "bird", "fish"]


def make_demo_samples(rng: random.Random, n: int) -> list[tuple[str, bytes | None, bytes]]:
    """Demo-task samples: 70 % right, 20 % one field wrong, 5 % missing, 5 % malformed."""
    samples = []
    for i in range(n):
        truth = {"label": rng.choice(LABELS), "count": rng.randint(0, 9)}
        roll = rng.random()
        output: bytes | None
        if roll < 0.70:
            output = json.dumps(truth).encode()
        elif roll < 0.80:
            output = json.dumps({**truth, "label": rng.choice(LABELS)}).encode()
        elif roll < 0.90:
            output = json.dumps({**truth, "count": truth["count"] + 1}).encode()
        elif roll < 0.95:
            output = None
        else:
            output = b'{"label": "cat", "count": '
        samples.append((f"s{i}", output, json.dumps(truth).encode()))
    return samples


def baseline_demo(samples: Sequence[tuple[str, bytes | None, bytes]]) -> float:
    """The demo template's mean score, hand-written for exactly this template."""
    total = 0.0
    for _, output, annotation in samples:
        truth = json.loads(annotation)
        try:
            out = json.loads(output) if output is not None else None
        except ValueError:
            out = None
        if not isinstance(out, dict):
            continue
        right = 0
        label = out.get("label")
        if isinstance(label, str) and label.strip().casefold() == truth["label"].casefold():
            right += 1
        count = out.get("count")
        if isinstance(count, (int, float)) and not isinstance(count, bool) and count == truth["count"]:
            right += 1
        total += right / 2
    return total / len(samples)


def make_detection_images(rng: random.Random, n: int) -> list[tuple[list[dict], list[dict]]]:
    """Per image: (predicted objects with scores, true objects), boxes as COCO [x, y, w, h]."""
    images = []
    for _ in range(n):
        truth = [{"bbox": [rng.uniform(0, 600), rng.uniform(0, 400), rng.uniform(10, 120), rng.uniform(10, 120)],
                  "category": rng.choice(LABELS)} for _ in range(rng.randint(0, 8))]
        predicted = []
        for t in truth:
            if rng.random() < 0.85:
                x, y, w, h = t["bbox"]
                jitter = 0.1 * min(w, h)
                predicted.append({"bbox": [x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter),
                                           w * rng.uniform(0.9, 1.1), h * rng.uniform(0.9, 1.1)],
                                  "category": t["category"] if rng.random() < 0.9 else rng.choice(LABELS),
                                  "score": rng.uniform(0.3, 1.0)})
        predicted += [{"bbox": [rng.uniform(0, 600), rng.uniform(0, 400), 40.0, 40.0],
                       "category": rng.choice(LABELS), "score": rng.uniform(0.0, 0.6)}
                      for _ in range(rng.randint(0, 3))]
        images.append((predicted, truth))
    return images


DETECTION_TEMPLATE = {
    "fields": [{"name": "objects", "output": "objects[*]", "compare": {
        "kind": "box_iou", "box": "bbox", "box_format": "xywh", "label": "category@str", "score": "score@num"}}],
    "aggregate": {"kind": "map"},
}


def baseline_map(images: Sequence[tuple[list[dict], list[dict]]]) -> float:
    """COCO mAP@[.5:.95] with a straight pycocotools call on ready-made lists."""
    cats = {name: k + 1 for k, name in enumerate(LABELS)}
    gt = {"images": [{"id": i + 1} for i in range(len(images))],
          "categories": [{"id": c, "name": n} for n, c in cats.items()], "annotations": []}
    dets = []
    for i, (predicted, truth) in enumerate(images):
        for t in truth:
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1,
                                      "category_id": cats[t["category"]], "bbox": t["bbox"],
                                      "area": t["bbox"][2] * t["bbox"][3], "iscrowd": 0})
        dets += [{"image_id": i + 1, "category_id": cats[p["category"]], "bbox": p["bbox"], "score": p["score"]}
                 for p in predicted]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(dets), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return float(evaluator.stats[0])


def timed(fn: Callable[[], float], repeat: int) -> tuple[float, float]:
    """(median seconds, result) over ``repeat`` runs."""
    times, result = [], 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json-samples", type=int, default=10_000)
    parser.add_argument("--images", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)

    demo = load_template_text(DEMO_TEMPLATE.read_text())
    samples = make_demo_samples(rng, args.json_samples)
    t_ours, s_ours = timed(lambda: score(demo, samples).score, args.repeat)
    t_base, s_base = timed(lambda: baseline_demo(samples), args.repeat)
    if abs(s_ours - s_base) > 1e-9:
        raise SystemExit(f"JSON scores differ: template {s_ours} vs baseline {s_base}")
    print(f"## demo template, {args.json_samples} JSON samples (median of {args.repeat})")
    print(f"arenahub.scoring.score      {t_ours:7.3f} s  {args.json_samples / t_ours:9.0f} samples/s  score {s_ours:.4f}")
    print(f"hand-written loop baseline  {t_base:7.3f} s  {args.json_samples / t_base:9.0f} samples/s  score {s_base:.4f}")

    # The whole test-run path: files on disk, outputs opened with O_NOFOLLOW, public/private split.
    with tempfile.TemporaryDirectory() as tmp:
        annotations, outputs = Path(tmp) / "annotations", Path(tmp) / "work" / "outputs"
        annotations.mkdir()
        outputs.mkdir(parents=True)
        for sample_id, output, annotation in samples:
            (annotations / f"{sample_id}.json").write_bytes(annotation)
            if output is not None:
                (outputs / f"{sample_id}.json").write_bytes(output)

        def from_disk() -> float:
            run = score_test_run(demo, annotations, outputs.parent, public_fraction=1.0, seed=0)
            return run.public.score if run.public else 0.0

        def baseline_from_disk() -> float:
            read = [(p.stem, (outputs / p.name).read_bytes() if (outputs / p.name).exists() else None, p.read_bytes())
                    for p in sorted(annotations.iterdir())]
            return baseline_demo(read)

        t_ours, s_ours = timed(from_disk, args.repeat)
        t_base, s_base = timed(baseline_from_disk, args.repeat)
    if abs(s_ours - s_base) > 1e-9:
        raise SystemExit(f"On-disk scores differ: template {s_ours} vs baseline {s_base}")
    print(f"\n## demo template, {args.json_samples} JSON files on disk (median of {args.repeat})")
    print(f"arenahub.scoring.score_test_run  {t_ours:7.3f} s  score {s_ours:.4f}")
    print(f"open() + hand-written loop       {t_base:7.3f} s  score {s_base:.4f}")

    images = make_detection_images(rng, args.images)
    detection = build_template(DETECTION_TEMPLATE)
    det_samples = [(f"img{i}", json.dumps({"objects": p}).encode(), json.dumps({"objects": t}).encode())
                   for i, (p, t) in enumerate(images)]
    n_truth = sum(len(t) for _, t in images)
    n_pred = sum(len(p) for p, _ in images)
    t_ours, m_ours = timed(lambda: score(detection, det_samples).score, args.repeat)
    t_base, m_base = timed(lambda: baseline_map(images), args.repeat)
    if abs(m_ours - m_base) > 1e-9:
        raise SystemExit(f"mAP differs: template {m_ours} vs pycocotools {m_base}")
    print(f"\n## box mAP, {args.images} images, {n_truth} true and {n_pred} predicted boxes (median of {args.repeat})")
    print(f"arenahub.scoring.score (JSON bytes in)  {t_ours:7.3f} s  mAP {m_ours:.4f}")
    print(f"straight pycocotools (lists in)         {t_base:7.3f} s  mAP {m_base:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
