"""Bounding boxes: reading them from outputs, IoU, and one-to-one matching of predictions to truth."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lxml import etree

from arenahub.scoring.routes import ExtractionError

BoxFormat = Literal["xyxy", "xywh"]
Matching = Literal["greedy", "optimal"]
_CORNERS = ("xmin", "ymin", "xmax", "ymax")
_ORIGIN_SIZE = ("x", "y", "w", "h")
_ORIGIN_SIZE_LONG = ("x", "y", "width", "height")


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in corner form (x1 <= x2, y1 <= y2), with optional label and score."""

    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None = None
    score: float = 1.0

    @property
    def area(self) -> float:
        return (self.x2 - self.x1) * (self.y2 - self.y1)

    @property
    def xywh(self) -> list[float]:
        """COCO's [x, y, width, height]."""
        return [self.x1, self.y1, self.x2 - self.x1, self.y2 - self.y1]


def _number(value: Any, where: str) -> float:
    if isinstance(value, etree._Element):
        value = "".join(value.itertext()).strip()
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ExtractionError(f"{where} is not a number")
    try:
        number = float(value)
    except (ValueError, OverflowError):
        raise ExtractionError(f"{where} is {value!r}, not a number") from None
    if not math.isfinite(number):
        raise ExtractionError(f"{where} is {value!r}, not a finite number")
    return number


def _xml_fields(node: etree._Element) -> dict[str, Any]:
    # Pascal VOC writes <bndbox><xmin>..</xmin>..</bndbox>; others use attributes.
    fields: dict[str, Any] = dict(node.attrib)
    for child in node:
        if isinstance(child.tag, str):
            fields.setdefault(etree.QName(child).localname, child)
    return fields


def read_box(node: Any, box_format: BoxFormat, where: str) -> tuple[float, float, float, float]:
    """Corners (x1, y1, x2, y2) of a box written as 4 numbers, a mapping or an XML element.

    Four numbers follow ``box_format``; a mapping or element needs ``xmin ymin xmax ymax`` or
    ``x y w h`` (or ``x y width height``). Raises ExtractionError for anything else, and for
    negative sizes.
    """
    if isinstance(node, etree._Element):
        node = _xml_fields(node)
    if isinstance(node, Mapping):
        for names, corners in ((_CORNERS, True), (_ORIGIN_SIZE, False), (_ORIGIN_SIZE_LONG, False)):
            if all(name in node for name in names):
                a, b, c, d = (_number(node[name], f"{where}.{name}") for name in names)
                break
        else:
            raise ExtractionError(
                f"{where} has no box fields; expected xmin, ymin, xmax, ymax or x, y, w, h"
            )
    elif isinstance(node, (list, tuple)) and len(node) == 4:
        a, b, c, d = (_number(v, f"{where}[{k}]") for k, v in enumerate(node))
        corners = box_format == "xyxy"
    else:
        raise ExtractionError(f"{where} is not a box; expected 4 numbers or named box fields")
    x1, y1, x2, y2 = (a, b, c, d) if corners else (a, b, a + c, b + d)
    if x2 < x1 or y2 < y1:
        raise ExtractionError(f"{where} has a negative width or height")
    return x1, y1, x2, y2


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes, in [0, 1]; 0 when both have no area."""
    w = min(a.x2, b.x2) - max(a.x1, b.x1)
    h = min(a.y2, b.y2) - max(a.y1, b.y1)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = a.area + b.area - inter
    return inter / union if union > 0 else 0.0


def _hungarian(cost: Sequence[Sequence[float]]) -> list[int]:
    """Column assigned to each row minimising total cost (rows <= columns), O(rows^2 x cols)."""
    n, m = len(cost), len(cost[0])
    u, v = [0.0] * (n + 1), [0.0] * (m + 1)
    owner, way = [0] * (m + 1), [0] * (m + 1)
    for row in range(1, n + 1):
        owner[0], col0 = row, 0
        min_v, used = [math.inf] * (m + 1), [False] * (m + 1)
        while True:
            used[col0] = True
            row0, delta, col1 = owner[col0], math.inf, 0
            for col in range(1, m + 1):
                if not used[col]:
                    reduced = cost[row0 - 1][col - 1] - u[row0] - v[col]
                    if reduced < min_v[col]:
                        min_v[col], way[col] = reduced, col0
                    if min_v[col] < delta:
                        delta, col1 = min_v[col], col
            for col in range(m + 1):
                if used[col]:
                    u[owner[col]] += delta
                    v[col] -= delta
                else:
                    min_v[col] -= delta
            col0 = col1
            if owner[col0] == 0:
                break
        while col0:
            col1 = way[col0]
            owner[col0] = owner[col1]
            col0 = col1
    assigned = [-1] * n
    for col in range(1, m + 1):
        if owner[col]:
            assigned[owner[col] - 1] = col - 1
    return assigned


def match_boxes(
    predicted: Sequence[Box], truth: Sequence[Box], threshold: float, matching: Matching = "greedy"
) -> list[tuple[int, int, float]]:
    """One-to-one pairs (prediction index, truth index, IoU) with IoU >= ``threshold``.

    When both boxes carry labels, only equal labels match. ``greedy`` takes the pairs in
    decreasing IoU; ``optimal`` finds the most pairs, then the largest total IoU (Hungarian).
    """
    candidates = []
    for p, pb in enumerate(predicted):
        for t, tb in enumerate(truth):
            if pb.label is not None and tb.label is not None and pb.label != tb.label:
                continue
            overlap = iou(pb, tb)
            if overlap >= threshold and overlap > 0:
                candidates.append((overlap, p, t))
    if not candidates:
        return []
    if matching == "greedy":
        pairs, used_p, used_t = [], set(), set()
        for overlap, p, t in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
            if p not in used_p and t not in used_t:
                used_p.add(p)
                used_t.add(t)
                pairs.append((p, t, overlap))
        return sorted(pairs)
    # Weight n + IoU per valid pair: one more match always outweighs any IoU gain.
    weight = {(p, t): len(truth) + len(predicted) + overlap for overlap, p, t in candidates}
    flip = len(predicted) > len(truth)
    rows, cols = (len(truth), len(predicted)) if flip else (len(predicted), len(truth))
    cost = [
        [-weight.get((c, r) if flip else (r, c), 0.0) for c in range(cols)] for r in range(rows)
    ]
    pairs = []
    for r, c in enumerate(_hungarian(cost)):
        p, t = (c, r) if flip else (r, c)
        if (p, t) in weight:
            pairs.append((p, t, weight[(p, t)] - len(truth) - len(predicted)))
    return sorted(pairs)
