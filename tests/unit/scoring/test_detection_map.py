import contextlib
import io
import json
import random

import pytest
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from arenahub.scoring import build_template, score
from arenahub.scoring.boxes import Box
from arenahub.scoring.detection import coco_map

pytestmark = pytest.mark.unit


def box(x, y, w, h, label="cat", s=1.0) -> Box:
    return Box(x, y, x + w, y + h, label=label, score=s)


@pytest.mark.parametrize(
    "samples, expected",
    [
        # every true box found exactly
        ([([box(0, 0, 10, 10)], [box(0, 0, 10, 10)])], 1.0),
        # nothing predicted
        ([([], [box(0, 0, 10, 10)])], 0.0),
        # a confident false box ranked above the right one: precision 1/2 at full recall
        ([([box(50, 50, 10, 10, s=0.9), box(0, 0, 10, 10, s=0.8)], [box(0, 0, 10, 10)])], 0.5),
        # the right box ranked first: the extra box after it costs nothing
        ([([box(50, 50, 10, 10, s=0.1), box(0, 0, 10, 10, s=0.8)], [box(0, 0, 10, 10)])], 1.0),
        # the label is wrong: no match
        ([([box(0, 0, 10, 10, label="dog")], [box(0, 0, 10, 10)])], 0.0),
        # no true box anywhere: 0 by convention
        ([([box(0, 0, 10, 10)], [])], 0.0),
    ],
)
def test_coco_map_on_hand_made_detections(samples, expected):
    assert coco_map(samples)["map"] == pytest.approx(expected)


def test_coco_map_of_a_box_shifted_to_iou_0_6_counts_at_0_5_but_not_at_0_75():
    # a 10x10 box shifted by 2.5 px: intersection 75, union 125, IoU 0.6
    result = coco_map([([box(2.5, 0, 10, 10)], [box(0, 0, 10, 10)])])
    assert result["map_50"] == pytest.approx(1.0) and result["map_75"] == 0.0
    assert result["map"] == pytest.approx(0.3)  # IoU thresholds 0.50, 0.55, 0.60 of ten


def _random_images(rng: random.Random, n: int):
    images = []
    for _ in range(n):
        truth = [box(rng.uniform(0, 80), rng.uniform(0, 80), rng.uniform(5, 20), rng.uniform(5, 20),
                     rng.choice(["cat", "dog"])) for _ in range(rng.randint(0, 4))]
        predicted = []
        for t in truth:
            if rng.random() < 0.8:
                j = lambda: rng.uniform(-1.5, 1.5)  # noqa: E731
                predicted.append(box(t.x1 + j(), t.y1 + j(), t.x2 - t.x1 + j(), t.y2 - t.y1 + j(),
                                     t.label if rng.random() < 0.9 else "dog", rng.random()))
        predicted += [box(rng.uniform(0, 80), rng.uniform(0, 80), 10, 10, "cat", rng.random() * 0.5)
                      for _ in range(rng.randint(0, 2))]
        images.append((predicted, truth))
    return images


def _straight_pycocotools(images) -> list[float]:
    cats = {"cat": 1, "dog": 2}
    gt = {"images": [{"id": i + 1} for i in range(len(images))],
          "categories": [{"id": c, "name": n} for n, c in cats.items()], "annotations": []}
    dets = []
    for i, (predicted, truth) in enumerate(images):
        for b in truth:
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": cats[b.label],
                                      "bbox": b.xywh, "area": b.area, "iscrowd": 0})
        dets += [{"image_id": i + 1, "category_id": cats[b.label], "bbox": b.xywh, "score": b.score}
                 for b in predicted]
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        evaluator = COCOeval(coco_gt, coco_gt.loadRes(dets), "bbox")
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return list(evaluator.stats[:3])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_coco_map_equals_a_straight_pycocotools_run(seed):
    images = _random_images(random.Random(seed), 40)
    ours = coco_map(images)
    assert [ours["map"], ours["map_50"], ours["map_75"]] == pytest.approx(_straight_pycocotools(images))


DETECTION_TEMPLATE = {
    "fields": [{"name": "objects", "output": "objects[*]", "compare": {
        "kind": "box_iou", "box": "bbox", "box_format": "xywh", "label": "category@str", "score": "score@num"}}],
    "aggregate": {"kind": "map"},
}


def _objects(boxes, with_score=True) -> bytes:
    return json.dumps({"objects": [
        {"bbox": b.xywh, "category": b.label, **({"score": b.score} if with_score else {})} for b in boxes
    ]}).encode()


def test_map_aggregate_through_score_matches_coco_map_and_counts_missing_outputs():
    images = _random_images(random.Random(7), 30)
    samples = [(f"img{i}", _objects(p), _objects(t, with_score=False)) for i, (p, t) in enumerate(images)]
    report = score(build_template(DETECTION_TEMPLATE), samples)
    assert report.score == pytest.approx(coco_map(images)["map"])
    # a missing output keeps its true boxes in the evaluation: recall and mAP drop
    samples[0] = ("img0", None, samples[0][2])
    samples[1] = ("img1", b"{not json", samples[1][2])
    damaged = score(build_template(DETECTION_TEMPLATE), samples)
    expected = coco_map([([], images[0][1]), ([], images[1][1]), *images[2:]])["map"]
    assert damaged.score == pytest.approx(expected)


def test_map_aggregate_at_iou_0_5():
    template = build_template({**DETECTION_TEMPLATE, "aggregate": {"kind": "map", "iou": "0.5"}})
    truth = [box(0, 0, 10, 10)]
    report = score(template, [("a", _objects([box(2.5, 0, 10, 10)]), _objects(truth, with_score=False))])
    assert report.score == pytest.approx(1.0)
    assert report.metrics["map"] == pytest.approx(0.3)
