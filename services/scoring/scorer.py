"""Score a test run: every sample's output against its hidden annotation, then the aggregate."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lxml import etree
from pydantic import BaseModel, ConfigDict

from arenahub.scoring.boxes import Box
from arenahub.scoring.comparators import FieldOutcome, evaluate_field, f1, weighted_score
from arenahub.scoring.template import DocumentFormat, EvaluationTemplate


class ScoringError(RuntimeError):
    """The template's own code (a custom aggregate) failed; participants' outputs never cause it."""


class SampleResult(BaseModel):
    """One sample's score in [0, 1], why it lost points ("ok" when it did not), and per field."""

    model_config = ConfigDict(frozen=True)

    sample_id: str
    score: float
    reason: str
    fields: dict[str, float] = {}


class ScoreReport(BaseModel):
    """The leaderboard score, every metric computed, and the per-sample results (admins only)."""

    model_config = ConfigDict(frozen=True)

    score: float
    metrics: dict[str, float]
    per_sample: list[SampleResult]


class _Unreadable(ValueError):
    pass


@dataclass(frozen=True)
class RefusedOutput:
    """An output file the reader refused to open (a symlink, a device, a hard link); why, in words."""

    reason: str


#: What ``score`` takes for one sample's output: its bytes, None when missing, or a refusal.
OutputData = bytes | None | RefusedOutput


def _parse(data: bytes, fmt: DocumentFormat, what: str, limit: int) -> Any:
    if len(data) > limit:
        raise _Unreadable(f"{what} is {len(data)} bytes; the limit is {limit}")
    if fmt == "json":
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as err:  # UnicodeDecodeError is a ValueError
            raise _Unreadable(f"{what} is not valid JSON: {err}") from None
    # Untrusted XML: no entity expansion, no DTD, no network (XXE and "billion laughs").
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser=parser)
    except (etree.XMLSyntaxError, ValueError) as err:
        raise _Unreadable(f"{what} is not valid XML: {err}") from None
    if root is None:
        raise _Unreadable(f"{what} is not valid XML: it has no root element")
    return root


def _score_sample(template: EvaluationTemplate, sample_id: str, output: OutputData,
                  annotation: bytes) -> tuple[SampleResult, list[FieldOutcome], str]:
    """One sample; the last value is "", "missing", "invalid" or "annotation"."""
    out_fmt = template.output_format
    ann_fmt = template.annotation_format or out_fmt
    try:
        ann_doc = _parse(annotation, ann_fmt, "annotation", max(template.max_output_bytes, len(annotation)))
    except _Unreadable as err:
        return SampleResult(sample_id=sample_id, score=0.0, reason=f"{err} (ask the organiser)"), [], "annotation"
    problem, out_doc, prefix = "", None, ""
    if output is None:
        problem, prefix = "missing", "no output file for this sample; "
    elif isinstance(output, RefusedOutput):
        problem, prefix = "invalid", f"{output.reason}; "
    else:
        try:
            out_doc = _parse(output, out_fmt, "output", template.max_output_bytes)
        except _Unreadable as err:
            problem, prefix = "invalid", f"{err}; "
    outcomes = [evaluate_field(spec, template, out_doc, ann_doc) for spec in template.fields]
    if any(o.annotation_error for o in outcomes):
        problem = "annotation"
    value = weighted_score(template.fields, outcomes)
    if prefix:
        reason = prefix.removesuffix("; ")
    else:
        reason = "; ".join(o.reason for o in outcomes if o.reason) or "ok"
    fields = {spec.name: o.score for spec, o in zip(template.fields, outcomes)}
    return SampleResult(sample_id=sample_id, score=value, reason=reason, fields=fields), outcomes, problem


def _ratio(num: int, den: int, empty: float) -> float:
    return num / den if den else empty


def score(template: EvaluationTemplate,
          samples: Iterable[tuple[str, OutputData, bytes]]) -> ScoreReport:
    """Score ``samples`` of (sample id, output bytes, None or a RefusedOutput, annotation bytes).

    Missing, oversized or malformed outputs and wrong or missing values score that sample 0
    with a reason; they never raise. Metrics: ``accuracy`` (share of samples fully right),
    ``mean`` (mean sample score), micro ``precision``/``recall``/``f1`` over every field's
    matches, ``map``/``map_50``/``map_75`` when the aggregate is map, ``custom`` when custom,
    and counts of samples, missing and invalid outputs and unreadable annotations.
    Raises ScoringError only when a custom aggregate function fails.
    """
    results: list[SampleResult] = []
    fully_right = tp = fp = fn = 0
    counts = {"missing": 0, "invalid": 0, "annotation": 0}
    map_field = template.map_field
    map_index = next((i for i, f in enumerate(template.fields) if f.name == map_field), None)
    detections: list[tuple[list[Box], list[Box]]] = []
    for sample_id, output, annotation in samples:
        result, outcomes, problem = _score_sample(template, str(sample_id), output, annotation)
        results.append(result)
        if problem:
            counts[problem] += 1
        if outcomes and all(o.score >= 1.0 for o in outcomes):
            fully_right += 1
        for o in outcomes:
            tp, fp, fn = tp + o.tp, fp + o.fp, fn + o.fn
        if map_index is not None and outcomes and outcomes[map_index].boxes is not None:
            detections.append(outcomes[map_index].boxes)

    n = len(results)
    metrics: dict[str, float] = {
        "accuracy": _ratio(fully_right, n, 0.0),
        "mean": math.fsum(r.score for r in results) / n if n else 0.0,
        "precision": _ratio(tp, tp + fp, 1.0 if fn == 0 else 0.0),
        "recall": _ratio(tp, tp + fn, 1.0 if fp == 0 else 0.0),
        "f1": f1(tp, fp, fn),
        "samples": float(n),
        "missing_outputs": float(counts["missing"]),
        "invalid_outputs": float(counts["invalid"]),
        "annotation_errors": float(counts["annotation"]),
    }
    aggregate = template.aggregate
    key = aggregate.kind
    if aggregate.kind == "map":
        # Imported here: pycocotools pulls in matplotlib, which only mAP needs.
        from arenahub.scoring.detection import coco_map

        metrics.update(coco_map(detections, aggregate.max_detections))
        key = {"coco": "map", "0.5": "map_50", "0.75": "map_75"}[aggregate.iou]
    elif aggregate.kind == "custom" and aggregate.entry_point is not None:
        try:
            value = float(template.function(aggregate.entry_point)(list(results)))
        except Exception as err:  # organiser code: say whose code failed and how
            raise ScoringError(
                f"The custom aggregate {aggregate.entry_point} failed with "
                f"{type(err).__name__}: {err}. Fix it in the competition's template."
            ) from err
        metrics["custom"] = value
    return ScoreReport(score=metrics[key], metrics=metrics, per_sample=results)
