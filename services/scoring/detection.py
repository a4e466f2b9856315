"""Detection mAP through pycocotools' COCOeval, from boxes already read out of the samples."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from arenahub.scoring.boxes import Box

DEFAULT_LABEL = "object"


def _coco(images: list[dict], categories: list[dict], annotations: list[dict]) -> COCO:
    coco = COCO()
    coco.dataset = {"images": images, "categories": categories, "annotations": annotations}
    coco.createIndex()
    return coco


def coco_map(
    samples: Sequence[tuple[Sequence[Box], Sequence[Box]]], max_detections: int = 100
) -> dict[str, float]:
    """COCO box mAP over ``samples`` of (predicted boxes, true boxes), one pair per image.

    Returns ``map`` (mean over IoU 0.50:0.95), ``map_50`` and ``map_75``, each in [0, 1].
    Boxes without a label share one class; predictions keep their ``score`` for ranking.
    As in COCO, classes with no true box anywhere are left out of the mean, and the result
    is 0.0 when there is no true box at all.
    """
    labels: dict[str, int] = {}
    images, truth, detections = [], [], []
    for image_id, (predicted, true_boxes) in enumerate(samples, start=1):
        images.append({"id": image_id})
        for box in true_boxes:
            cat = labels.setdefault(box.label or DEFAULT_LABEL, len(labels) + 1)
            # ids start at 1: COCOeval treats a matched id of 0 as "unmatched".
            truth.append({"id": len(truth) + 1, "image_id": image_id, "category_id": cat,
                          "bbox": box.xywh, "area": box.area, "iscrowd": 0})
        for box in predicted:
            cat = labels.setdefault(box.label or DEFAULT_LABEL, len(labels) + 1)
            detections.append({"id": len(detections) + 1, "image_id": image_id, "category_id": cat,
                               "bbox": box.xywh, "area": box.area, "iscrowd": 0,
                               "score": float(box.score)})
    if not truth:
        return {"map": 0.0, "map_50": 0.0, "map_75": 0.0}
    categories = [{"id": cat, "name": name} for name, cat in labels.items()]
    # pycocotools prints progress to stdout unconditionally; keep it out of the service's output.
    with contextlib.redirect_stdout(io.StringIO()):
        gt = _coco(images, categories, truth)
        dt = _coco(images, categories, detections)
        evaluator = COCOeval(gt, dt, "bbox")
        evaluator.params.maxDets = [1, 10, max_detections]
        evaluator.evaluate()
        evaluator.accumulate()
    precision = evaluator.eval["precision"][:, :, :, 0, -1]  # [IoU, recall, class], all areas

    def mean(values: np.ndarray) -> float:
        kept = values[values > -1]
        return float(kept.mean()) if kept.size else 0.0

    thresholds = list(np.round(evaluator.params.iouThrs, 2))
    return {
        "map": mean(precision),
        "map_50": mean(precision[thresholds.index(0.5)]),
        "map_75": mean(precision[thresholds.index(0.75)]),
    }
