"""Field checks: read one field from an output and its annotation and compare them with the rule.

Reasons never quote the annotation's value: they are written for admins, but a reason that
reached a participant must not reveal hidden test data.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from arenahub.scoring.boxes import Box, match_boxes, read_box
from arenahub.scoring.routes import (
    ExtractionError,
    Route,
    apply_cast,
    extract_many,
    extract_one,
    select,
)
from arenahub.scoring.template import (
    BoxRule,
    CustomRule,
    DocumentFormat,
    EvaluationTemplate,
    ExactRule,
    FieldSpec,
    NumericRule,
    SetF1Rule,
)

# Floats that should be equal often differ in the last bits (0.1 + 0.2); edges stay inclusive.
_EDGE_SLACK = 1e-9


@dataclass(frozen=True)
class FieldOutcome:
    """Score in [0, 1] of one field of one sample, with counts for precision and recall."""

    score: float
    tp: int = 0
    fp: int = 0
    fn: int = 0
    reason: str = ""
    annotation_error: bool = False
    boxes: tuple[list[Box], list[Box]] | None = None  # (predicted, true) for mAP


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _text(value: Any, case_sensitive: bool, strip: bool) -> Any:
    if isinstance(value, str):
        value = value.strip() if strip else value
        return value if case_sensitive else value.casefold()
    return value


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value


def f1(tp: int, fp: int, fn: int) -> float:
    """F1 = 2tp / (2tp + fp + fn); 1.0 when there was nothing to find and nothing was found."""
    return 2 * tp / (2 * tp + fp + fn) if tp or fp or fn else 1.0


def _read_boxes(items: Sequence[Any], rule: BoxRule, template: EvaluationTemplate,
                fmt: DocumentFormat, side: str) -> list[Box]:
    boxes = []
    for k, item in enumerate(items):
        where = f"{side} object {k}"
        node = item
        if rule.box is not None:
            found = select(item, template.route(rule.box, fmt))
            if len(found) != 1:
                raise ExtractionError(f"{where}: {rule.box} should point at one box, found {len(found)}")
            node = found[0]
        corners = read_box(node, rule.box_format, where)
        label = None
        if rule.label is not None:
            label = str(apply_cast(extract_one(item, template.route(rule.label, fmt)), "str", f"{where} label"))
        score = 1.0
        if rule.score is not None and side == "output":  # annotations carry no confidence
            score = apply_cast(extract_one(item, template.route(rule.score, fmt)), "num", f"{where} score")
        boxes.append(Box(*corners, label=label, score=score))
    return boxes


def _read(spec: FieldSpec, route: Route, document: Any, template: EvaluationTemplate,
          fmt: DocumentFormat, side: str) -> Any:
    """The value(s) a field's rule compares, read from one side (output or annotation)."""
    rule = spec.compare
    if isinstance(rule, ExactRule):
        return extract_one(document, route)
    if isinstance(rule, NumericRule):
        return apply_cast(extract_one(document, route), "num", route.text)
    if isinstance(rule, SetF1Rule):
        return extract_many(document, route)
    if isinstance(rule, BoxRule):
        items = extract_many(document, route, keep_nodes=True)
        return _read_boxes(items, rule, template, fmt, side)
    # custom: a list for JSON routes with [*] and for every XML route, else one value
    if fmt == "xml" or route.is_many:
        return extract_many(document, route)
    return extract_one(document, route)


def _missing(spec: FieldSpec, truth: Any, reason: str) -> FieldOutcome:
    count = len(truth) if isinstance(spec.compare, (SetF1Rule, BoxRule)) else 1
    boxes = ([], truth) if isinstance(spec.compare, BoxRule) else None
    return FieldOutcome(0.0, fn=count, reason=f"{spec.name}: {reason}", boxes=boxes)


def _custom(rule: CustomRule, template: EvaluationTemplate, name: str, predicted: Any, truth: Any) -> FieldOutcome:
    try:
        returned = template.function(rule.entry_point)(predicted, truth)
    except Exception as err:  # organiser code: report it per sample, never stop the scoring
        return FieldOutcome(0.0, fp=1, fn=1, reason=f"{name}: custom rule raised {type(err).__name__}: {err}")
    value, reason = returned if isinstance(returned, tuple) and len(returned) == 2 else (returned, "")
    if not isinstance(value, (int, float)) or not 0 <= value <= 1:  # True/False count as 1/0
        return FieldOutcome(0.0, fp=1, fn=1, reason=(
            f"{name}: custom rule {rule.entry_point} returned {_show(returned)}; "
            "it must return a number in [0, 1] or (number, reason)"))
    reason = f"{name}: {reason}" if reason else ("" if value >= 1 else f"{name}: scored {value:.3g}")
    return FieldOutcome(float(value), tp=int(value >= 1), fp=int(value < 1), fn=int(value < 1), reason=reason)


def compare(rule: Any, template: EvaluationTemplate, spec: FieldSpec, predicted: Any, truth: Any) -> FieldOutcome:
    """Compare an extracted output value with the annotation's under ``rule``."""
    name = spec.name
    if isinstance(rule, ExactRule):
        if _text(predicted, rule.case_sensitive, rule.strip) == _text(truth, rule.case_sensitive, rule.strip):
            return FieldOutcome(1.0, tp=1)
        return FieldOutcome(0.0, fp=1, fn=1, reason=f"{name}: output {_show(predicted)} does not match")
    if isinstance(rule, NumericRule):
        p, t = predicted, truth
        allowed = max(rule.abs_tol, rule.rel_tol * abs(t))
        if abs(p - t) <= allowed + _EDGE_SLACK * max(1.0, abs(t)):
            return FieldOutcome(1.0, tp=1)
        return FieldOutcome(0.0, fp=1, fn=1, reason=(
            f"{name}: output {p:g} is outside the tolerance (abs {rule.abs_tol:g}, rel {rule.rel_tol:g})"))
    if isinstance(rule, SetF1Rule):
        norm = [_hashable(_text(v, rule.case_sensitive, True)) for v in predicted]
        want = [_hashable(_text(v, rule.case_sensitive, True)) for v in truth]
        got, expected = Counter(norm), Counter(want)
        tp = sum((got & expected).values())
        fp, fn = len(norm) - tp, len(want) - tp
        reason = f"{name}: {tp} right, {fp} extra, {fn} missed" if fp or fn else ""
        return FieldOutcome(f1(tp, fp, fn), tp, fp, fn, reason)
    if isinstance(rule, BoxRule):
        pairs = match_boxes(predicted, truth, rule.iou_threshold, rule.matching)
        tp = len(pairs)
        fp, fn = len(predicted) - tp, len(truth) - tp
        reason = (f"{name}: {tp} boxes matched at IoU >= {rule.iou_threshold:g}, "
                  f"{fp} unmatched predictions, {fn} missed") if fp or fn else ""
        return FieldOutcome(f1(tp, fp, fn), tp, fp, fn, reason, boxes=(list(predicted), list(truth)))
    return _custom(rule, template, name, predicted, truth)


def evaluate_field(spec: FieldSpec, template: EvaluationTemplate, output: Any, annotation: Any) -> FieldOutcome:
    """Score one field of one sample. ``output`` is None when the output could not be read.

    Never raises for bad outputs or annotations: problems become a 0 score with a reason.
    """
    out_fmt: DocumentFormat = template.output_format
    ann_fmt: DocumentFormat = template.annotation_format or out_fmt
    ann_route = template.route(spec.annotation or spec.output, ann_fmt)
    try:
        truth = _read(spec, ann_route, annotation, template, ann_fmt, "annotation")
    except ExtractionError as err:
        return FieldOutcome(0.0, reason=f"{spec.name}: annotation: {err}", annotation_error=True)
    if output is None:
        return _missing(spec, truth, "no readable output")
    try:
        predicted = _read(spec, template.route(spec.output, out_fmt), output, template, out_fmt, "output")
        return compare(spec.compare, template, spec, predicted, truth)
    except ExtractionError as err:
        return _missing(spec, truth, str(err))


def weighted_score(specs: Sequence[FieldSpec], outcomes: Sequence[FieldOutcome]) -> float:
    """The sample's score: the weighted mean of its fields' scores, in [0, 1]."""
    total = sum(spec.weight for spec in specs)
    value = sum(spec.weight * o.score for spec, o in zip(specs, outcomes)) / total
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0
