"""The evaluation template: the ``evaluation:`` section of a competition file, checked on load."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from arenahub.scoring.routes import Route, RoutePathError, compile_route

DocumentFormat = Literal["json", "xml"]


@dataclass(frozen=True)
class Side:
    """One side of a field, compiled: the output's routes or the annotation's."""

    name: Literal["output", "annotation"]
    fmt: DocumentFormat
    route: Route
    box: Route | None = None
    label: Route | None = None
    score: Route | None = None  # only the output carries a confidence


@dataclass(frozen=True)
class CompiledField:
    """A field with its routes compiled and its custom function imported, ready to score."""

    spec: FieldSpec
    output: Side
    annotation: Side
    function: Callable[..., Any] | None = None


class TemplateError(ValueError):
    """An evaluation template that cannot be used; the message lists every problem with its path."""


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExactRule(_Rule):
    """Right when the output equals the annotation (after the routes' casts)."""

    kind: Literal["exact"]
    case_sensitive: bool = Field(True, description="False compares text case-insensitively.")
    strip: bool = Field(True, description="Ignore spaces around text values.")


class NumericRule(_Rule):
    """Right when |output - annotation| <= max(abs_tol, rel_tol x |annotation|), edges included.

    "Age within 3 years" is ``abs_tol: 3``; "within 5 %" is ``rel_tol: 0.05``.
    """

    kind: Literal["numeric"]
    abs_tol: float = Field(0.0, ge=0, description="Largest allowed absolute difference.")
    rel_tol: float = Field(0.0, ge=0, description="Largest allowed difference as a fraction of the annotation.")


class SetF1Rule(_Rule):
    """F1 between the output's labels and the annotation's (as multisets: repeats count)."""

    kind: Literal["set_f1"]
    case_sensitive: bool = True


class BoxRule(_Rule):
    """Boxes matched one-to-one at IoU >= ``iou_threshold``; the field scores the match F1.

    The field's routes select the list of objects; ``box``, ``label`` and ``score`` are routes
    inside each object (leave ``box`` out when the object is the box itself).
    """

    kind: Literal["box_iou"]
    iou_threshold: float = Field(0.5, gt=0, le=1)
    matching: Literal["greedy", "optimal"] = Field(
        "greedy", description="greedy: pairs in decreasing IoU; optimal: most pairs (Hungarian)."
    )
    box_format: Literal["xyxy", "xywh"] = Field(
        "xyxy", description="Order of a box written as 4 numbers: corners or origin and size."
    )
    box: str | None = Field(None, description="Route to the box inside each object.")
    label: str | None = Field(None, description="Route to the class label; only equal labels match.")
    score: str | None = Field(None, description="Route to the confidence (for mAP ranking; default 1).")


class CustomRule(_Rule):
    """``module:function`` called as ``function(output_value, annotation_value)``.

    It returns a score in [0, 1], or (score, reason). It runs inside the gateway with the
    organiser's trust: only organisers write templates.
    """

    kind: Literal["custom"]
    entry_point: str


Rule = Annotated[
    ExactRule | NumericRule | SetF1Rule | BoxRule | CustomRule, Field(discriminator="kind")
]


class FieldSpec(BaseModel):
    """One thing to check in every sample."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, description="Shown in per-sample reasons and metrics.")
    output: str = Field(description="Route path in the algorithm's output.")
    annotation: str | None = Field(None, description="Route path in the annotation; default: same as output.")
    compare: Rule
    weight: float = Field(1.0, gt=0, description="Weight in the sample's score (a weighted mean).")


class AggregateSpec(BaseModel):
    """How per-sample results become the leaderboard score."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["accuracy", "mean", "precision", "recall", "f1", "map", "custom"] = "mean"
    field: str | None = Field(None, description="For map: the box_iou field (default: the only one).")
    iou: Literal["coco", "0.5", "0.75"] = Field(
        "coco", description="For map: mean over IoU 0.50:0.95 (coco), or at one threshold."
    )
    max_detections: int = Field(100, ge=1, description="For map: boxes kept per sample, best first.")
    entry_point: str | None = Field(None, description="For custom: module:function(results) -> float.")


class EvaluationTemplate(BaseModel):
    """The ``evaluation:`` section of a competition file."""

    model_config = ConfigDict(extra="forbid")

    output_format: Literal["json", "xml"] = "json"
    annotation_format: Literal["json", "xml"] | None = Field(None, description="Default: output_format.")
    fields: list[FieldSpec] = Field(min_length=1)
    aggregate: AggregateSpec = AggregateSpec()
    max_output_bytes: int = Field(10 * 2**20, ge=1, description="Larger outputs score 0.")

    _routes: dict[tuple[str, str], Route] = PrivateAttr(default_factory=dict)
    _functions: dict[str, Callable[..., Any]] = PrivateAttr(default_factory=dict)
    _compiled: list[CompiledField] = PrivateAttr(default_factory=list)

    @model_validator(mode="after")
    def _compile(self) -> EvaluationTemplate:
        problems: list[str] = []
        annotation_format = self.annotation_format or self.output_format
        names = [f.name for f in self.fields]
        for i, spec in enumerate(self.fields):
            if names.count(spec.name) > 1:
                problems.append(f"fields[{i}].name: {spec.name!r} is used twice; names must differ")
            routes = [("output", spec.output, self.output_format)]
            if spec.annotation is not None or annotation_format != self.output_format:
                routes.append(("annotation", spec.annotation or spec.output, annotation_format))
            rule = spec.compare
            if isinstance(rule, BoxRule):
                for sub in ("box", "label", "score"):
                    text = getattr(rule, sub)
                    if text is not None:
                        routes.append((f"compare.{sub}", text, self.output_format))
                        if annotation_format != self.output_format:
                            routes.append((f"compare.{sub}", text, annotation_format))
            for where, text, fmt in routes:
                try:
                    self._routes[(text, fmt)] = compile_route(text, fmt)
                except RoutePathError as err:
                    problems.append(f"fields[{i}].{where}: {err}")
            if isinstance(rule, CustomRule):
                self._resolve(rule.entry_point, f"fields[{i}].compare.entry_point", problems)
        agg = self.aggregate
        if agg.kind == "custom":
            if agg.entry_point is None:
                problems.append("aggregate.entry_point: required when kind is custom (module:function)")
            else:
                self._resolve(agg.entry_point, "aggregate.entry_point", problems)
        if agg.kind == "map":
            box_fields = [f.name for f in self.fields if isinstance(f.compare, BoxRule)]
            if agg.field is None and len(box_fields) != 1:
                problems.append(
                    "aggregate.field: name the box_iou field to compute mAP on; "
                    f"box_iou fields: {', '.join(box_fields) or '(none)'}"
                )
            elif agg.field is not None and agg.field not in box_fields:
                problems.append(
                    f"aggregate.field: {agg.field!r} is not a box_iou field; "
                    f"box_iou fields: {', '.join(box_fields) or '(none)'}"
                )
        if problems:
            raise ValueError("\n".join(problems))
        self._compiled = [self._compile_field(spec, annotation_format) for spec in self.fields]
        return self

    def _compile_field(self, spec: FieldSpec, annotation_format: DocumentFormat) -> CompiledField:
        rule = spec.compare

        def side(name: Literal["output", "annotation"], text: str, fmt: DocumentFormat) -> Side:
            if not isinstance(rule, BoxRule):
                return Side(name, fmt, self.route(text, fmt))
            sub = {k: self.route(getattr(rule, k), fmt) if getattr(rule, k) else None
                   for k in ("box", "label", "score")}
            if name == "annotation":
                sub["score"] = None
            return Side(name, fmt, self.route(text, fmt), **sub)

        function = self.function(rule.entry_point) if isinstance(rule, CustomRule) else None
        return CompiledField(
            spec,
            side("output", spec.output, self.output_format),
            side("annotation", spec.annotation or spec.output, annotation_format),
            function,
        )

    @property
    def compiled_fields(self) -> list[CompiledField]:
        """The fields, compiled when the template was checked, in template order."""
        return self._compiled

    def _resolve(self, entry_point: str, where: str, problems: list[str]) -> None:
        module_name, _, attr = entry_point.partition(":")
        if not module_name or not attr:
            problems.append(f"{where}: {entry_point!r} should look like package.module:function")
            return
        try:
            function = getattr(importlib.import_module(module_name), attr)
        except ImportError as err:
            problems.append(f"{where}: cannot import {module_name!r} ({err})")
            return
        except AttributeError:
            problems.append(f"{where}: module {module_name!r} has no {attr!r}")
            return
        if not callable(function):
            problems.append(f"{where}: {entry_point!r} is not a function")
            return
        self._functions[entry_point] = function

    @property
    def map_field(self) -> str | None:
        """Name of the field mAP is computed on, or None when the aggregate is not map."""
        if self.aggregate.kind != "map":
            return None
        return self.aggregate.field or next(f.name for f in self.fields if isinstance(f.compare, BoxRule))

    def route(self, text: str, fmt: DocumentFormat) -> Route:
        """The compiled route for ``text`` in a document of format ``fmt``."""
        return self._routes[(text, fmt)]

    def function(self, entry_point: str) -> Callable[..., Any]:
        """The imported custom function for ``entry_point``."""
        return self._functions[entry_point]


_RULE_KINDS = {"exact", "numeric", "set_f1", "box_iou", "custom"}


def _describe(err: ValidationError, prefix: str) -> str:
    lines = []
    for problem in err.errors():
        path, previous = prefix, None
        for part in problem["loc"]:
            if previous == "compare" and part in _RULE_KINDS:
                continue  # pydantic's union tag, not a key the organiser wrote
            path += f"[{part}]" if isinstance(part, int) else f".{part}"
            previous = part
        message = problem["msg"].removeprefix("Value error, ")
        if problem["loc"]:
            lines.append(f"{path}: {message}")
        else:  # the template-wide check lists its problems one per line, each with a path
            lines.extend(f"{path}.{line}" for line in message.splitlines())
    return "\n".join(lines)


def _route_problems(data: Mapping[str, Any], prefix: str) -> list[str]:
    # Pydantic skips the template-wide check once a field fails; check the routes of the raw
    # data too, so one run reports every bad route alongside the other problems.
    out_fmt = data.get("output_format", "json")
    ann_fmt = data.get("annotation_format") or out_fmt
    fields = data.get("fields")
    problems = []
    for i, spec in enumerate(fields if isinstance(fields, list) else []):
        if not isinstance(spec, Mapping):
            continue
        rule = spec.get("compare") if isinstance(spec.get("compare"), Mapping) else {}
        for where, text, fmt in [("output", spec.get("output"), out_fmt),
                                 ("annotation", spec.get("annotation"), ann_fmt),
                                 *((f"compare.{k}", rule.get(k), out_fmt) for k in ("box", "label", "score"))]:
            if isinstance(text, str) and fmt in ("json", "xml"):
                try:
                    compile_route(text, fmt)
                except RoutePathError as err:
                    problems.append(f"{prefix}.fields[{i}].{where}: {err}")
    return problems


def build_template(data: Mapping[str, Any], prefix: str = "evaluation") -> EvaluationTemplate:
    """Check ``data`` (the parsed ``evaluation:`` section) and return the template.

    Raises TemplateError listing every problem as ``evaluation.fields[0].output: ...``.
    """
    try:
        return EvaluationTemplate.model_validate(data)
    except ValidationError as err:
        lines = _describe(err, prefix).splitlines()
        lines += [line for line in _route_problems(data, prefix) if line not in lines]
        raise TemplateError("The evaluation template has problems:\n" + "\n".join(lines)) from None


def load_template_text(text: str, prefix: str = "evaluation") -> EvaluationTemplate:
    """Parse YAML text holding the ``evaluation:`` section's content and check it.

    Raises TemplateError for invalid YAML or an invalid template.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise TemplateError(f"The evaluation template is not valid YAML: {err}") from None
    if not isinstance(data, Mapping):
        raise TemplateError("The evaluation template should be a mapping with fields: and aggregate:.")
    return build_template(data, prefix)
