"""The one-line metric format that ``arenahub.sdk.report()`` prints and the gateway parses.

A metric line is a fixed prefix followed by one compact JSON object with an integer ``step``
and one or more named numbers::

    @@arenahub.metric {"step":3,"loss":0.41,"val/acc":0.875}

Non-finite values use Python's JSON literals ``NaN``, ``Infinity`` and ``-Infinity``.
See docs/metric-line.md. Pure and stdlib-only: the in-job SDK imports it too.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

METRIC_PREFIX = "@@arenahub.metric "
# Names: a letter first, then letters, digits and ``_ . / -``; at most 64 characters.
METRIC_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_./-]{0,63}$"
MAX_METRICS_PER_LINE = 32
MAX_STEP = 2**53 - 1
MAX_LINE_CHARS = 4096

_NAME_RE = re.compile(METRIC_NAME_PATTERN)


class MetricLineError(ValueError):
    """A metric line (or the values for one) breaks the format; the message says which rule."""


@dataclass(frozen=True)
class MetricPoint:
    """The numbers one metric line carries: a step and name -> value, in the line's order."""

    step: int
    values: dict[str, float] = field(default_factory=dict)


def _check(step: object, metrics: dict[str, object]) -> dict[str, float]:
    if isinstance(step, bool) or not isinstance(step, int):
        raise MetricLineError(f"step must be an integer, got {step!r}.")
    if not 0 <= step <= MAX_STEP:
        raise MetricLineError(f"step must be between 0 and {MAX_STEP}, got {step}.")
    if not metrics:
        raise MetricLineError("a metric line needs at least one named value besides 'step'.")
    if len(metrics) > MAX_METRICS_PER_LINE:
        raise MetricLineError(
            f"a metric line holds at most {MAX_METRICS_PER_LINE} values, got {len(metrics)}; "
            "report them in several calls."
        )
    values: dict[str, float] = {}
    for name, value in metrics.items():
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise MetricLineError(
                f"metric name {name!r} is invalid: use a letter first, then letters, digits "
                "or _ . / -, at most 64 characters."
            )
        if name == "step":
            raise MetricLineError("'step' is reserved for the step number; rename the metric.")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise MetricLineError(f"metric {name!r} must be a number, got {type(value).__name__}.")
        values[name] = float(value)
    return values


def format_metric_line(step: int, metrics: dict[str, float]) -> str:
    """The metric line for ``step`` and ``metrics`` (without a newline); raises MetricLineError."""
    values = _check(step, dict(metrics))
    body = json.dumps({"step": step, **values}, separators=(",", ":"), allow_nan=True)
    return METRIC_PREFIX + body


def parse_metric_line(line: str) -> MetricPoint | None:
    """The point a metric line carries; None when ``line`` is not a metric line at all.

    Raises MetricLineError when the line starts with METRIC_PREFIX but is malformed.
    A trailing newline or carriage return is ignored.
    """
    if not line.startswith(METRIC_PREFIX):
        return None
    line = line.rstrip("\r\n")
    if len(line) > MAX_LINE_CHARS:
        raise MetricLineError(f"a metric line is at most {MAX_LINE_CHARS} characters, got {len(line)}.")
    body = line[len(METRIC_PREFIX):]
    try:
        data = json.loads(body, parse_constant=_parse_constant)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise MetricLineError(f"the text after {METRIC_PREFIX.strip()!r} is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise MetricLineError("the text after the prefix must be a JSON object like {\"step\":1,\"loss\":0.5}.")
    if "step" not in data:
        raise MetricLineError("a metric line needs an integer 'step'.")
    step = data.pop("step")
    return MetricPoint(step=step, values=_check(step, data))


def _parse_constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]
