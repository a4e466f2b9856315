"""The log policy an organiser declares in YAML: which lines pass, the caps and the leak budget.

The field descriptions are the organiser's manual; docs/log-policy.md walks through them.
Pure: ``build_policy`` takes a mapping, ``parse_policy`` takes YAML text.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from arenahub.core.metricline import METRIC_NAME_PATTERN
from arenahub.core.yamlconf import ConfigError, load_yaml

POLICY_KINDS = ("open", "filtered", "whitelist")
MIB = 1024 * 1024

# What an organiser gets by naming only the kind; every other field overrides these.
_KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "open": {"leak_budget_bytes": None, "max_line_bytes": 16000},
    "filtered": {"leak_budget_bytes": 1 * MIB, "max_line_bytes": 2000},
    "whitelist": {"leak_budget_bytes": 1 * MIB, "max_line_bytes": 2000},
}


class PolicyError(ConfigError):
    """A log policy is invalid; ``problems`` lists 'source:line: path: message' strings."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Detection(_Strict):
    """Thresholds of the encoded-data detector (``filtered`` and ``whitelist``)."""

    base64_min_chars: int = Field(40, ge=8, le=1000, description="A run of base64/base32/base36 characters this long is checked for randomness.")
    hex_min_chars: int = Field(32, ge=8, le=1000, description="A run of hex digits (with letters and digits) this long is encoded data.")
    decimal_min_digits: int = Field(24, ge=8, le=1000, description="A run of decimal digits this long is encoded data.")
    number_list_min: int = Field(16, ge=4, le=10000, description="This many numbers in a row (byte or pixel lists) are encoded data.")
    token_min_chars: int = Field(20, ge=8, le=1000, description="Shorter tokens mixing upper case, lower case and digits are checked for randomness from this length.")
    long_token_chars: int = Field(200, ge=16, le=10000, description="Any unbroken run of base64/url-safe characters this long is encoded data.")
    unicode_min_chars: int = Field(48, ge=8, le=10000, description="A run of non-ASCII characters this long with nearly all characters distinct is encoded data.")
    randomness_percent: int = Field(80, ge=1, le=100, description="A run counts as random when it has at least this percent of the distinct symbols a random string of its alphabet and length would have.")
    token_randomness_percent: int = Field(90, ge=1, le=100, description="The same for short mixed tokens (token_min_chars up to base64_min_chars).")
    unicode_distinct_percent: int = Field(90, ge=1, le=100, description="Percent of distinct characters that makes a long non-ASCII run encoded.")
    withhold_percent: int = Field(50, ge=1, le=100, description="A line whose encoded spans cover this percent of its non-blank bytes is withheld; below it the spans are redacted.")
    window_lines: int = Field(64, ge=1, le=100000, description="Lines in the sliding window that catches payloads split across lines.")
    window_data_lines: int = Field(8, ge=1, le=100000, description="Data-only lines (numbers, hex or base64 fragments) in the window that make it a split payload.")
    window_data_bytes: int = Field(48, ge=1, le=10**9, description="Bytes of data-only lines in the window that make it a split payload.")

    @model_validator(mode="after")
    def _ordered(self) -> Detection:
        if self.token_min_chars >= self.base64_min_chars:
            raise ValueError("token_min_chars must be smaller than base64_min_chars")
        if self.base64_min_chars >= self.long_token_chars:
            raise ValueError("base64_min_chars must be smaller than long_token_chars")
        return self


class AllowPattern(_Strict):
    """One organiser line template for ``whitelist``: a Python regular expression the whole line must match."""

    name: str = Field(..., min_length=1, max_length=64, description="Shown in summaries.")
    pattern: str = Field(..., description="Capture every part that varies in groups: a line costs the bytes its groups capture, a pattern without groups costs the whole line.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            # Wrapped as it will be in the combined template alternation.
            re.compile(f"({value})")
        except re.error as exc:
            raise ValueError(
                f"not a valid regular expression: {exc} (flags must be scoped, e.g. '(?i:...)')"
            ) from None
        return value


class Whitelist(_Strict):
    """What ``whitelist`` lets through besides metric lines."""

    templates: tuple[str, ...] = Field(
        ("tqdm", "keras", "lightning", "hf_trainer", "pytorch", "key_value"),
        description="Built-in progress and metric formats to accept (see docs/log-policy.md).",
    )
    allow: tuple[AllowPattern, ...] = Field((), description="The organiser's own line templates.")
    exception_message_chars: int = Field(100, ge=0, le=10000, description="Exception and warning messages are cut to this many characters.")

    @field_validator("templates")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from arenahub.logpolicy.templates import BUILTIN_TEMPLATES

        unknown = [t for t in value if t not in BUILTIN_TEMPLATES]
        if unknown:
            raise ValueError(f"unknown template {unknown[0]!r}. Available: {', '.join(BUILTIN_TEMPLATES)}")
        return value

    @model_validator(mode="after")
    def _combines(self) -> Whitelist:
        from arenahub.logpolicy.templates import TemplateSet

        try:
            TemplateSet(self.templates, tuple((a.name, a.pattern) for a in self.allow))
        except re.error as exc:
            raise ValueError(f"the allow patterns do not combine: {exc} (use unnamed groups)") from None
        return self


class MetricCaps(_Strict):
    """Caps on the metric channel so metric values carry a declared number of bits at most."""

    max_names: int = Field(16, ge=1, le=1000, description="Distinct metric names per job; later new names are dropped.")
    name_pattern: str = Field(METRIC_NAME_PATTERN, description="Regular expression every metric name must match.")
    max_name_chars: int = Field(32, ge=1, le=64, description="Longest metric name accepted.")
    max_points_per_s: float = Field(20.0, gt=0, description="Sustained metric values per second (a line with 3 values is 3 points).")
    burst_points: int = Field(200, ge=1, description="Metric values allowed in a burst above the sustained rate.")
    max_points_per_job: int = Field(5000, ge=1, description="Metric values per job; later lines are withheld.")
    significant_digits: int = Field(4, ge=1, le=17, description="Values are rounded to this many significant digits.")
    max_step: int = Field(10**9, ge=1, description="Largest step number accepted.")

    @field_validator("name_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class Policy(_Strict):
    """One log policy: the kind, its caps, the leak budget and the detector settings."""

    policy: Literal["open", "filtered", "whitelist"] = Field(..., description="open: every line passes (caps apply); filtered: lines pass unless they carry encoded data; whitelist: only known progress, metric and exception lines pass.")
    leak_budget_bytes: int | None = Field(None, ge=0, description="Free-form bytes a job may show (filtered: every shown byte; whitelist: bytes in the variable parts of template lines). Null: no budget. Beyond it, lines are withheld.")
    max_shown_bytes: int | None = Field(64 * MIB, ge=0, description="All bytes a job may show, metric lines and markers included. Null: no cap.")
    max_line_bytes: int = Field(2000, ge=16, le=10**6, description="Longer lines are cut to this many bytes.")
    max_lines_per_s: float | None = Field(100.0, gt=0, description="Sustained shown lines per second; null: no rate cap.")
    burst_lines: int = Field(2000, ge=1, description="Lines allowed in a burst above the sustained rate.")
    detection: Detection = Field(default_factory=Detection)
    whitelist: Whitelist = Field(default_factory=Whitelist)
    metrics: MetricCaps = Field(default_factory=MetricCaps)

    @model_validator(mode="before")
    @classmethod
    def _kind_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            raise ValueError("a log policy must be a mapping such as {policy: filtered}")
        kind = data.get("policy")
        if kind is None:
            raise ValueError(f"missing 'policy': name one of {', '.join(POLICY_KINDS)}")
        if kind not in POLICY_KINDS:
            raise ValueError(f"unknown policy {kind!r}. Valid: {', '.join(POLICY_KINDS)}")
        return {**_KIND_DEFAULTS[kind], **data}


def build_policy(data: Any, source: str = "policy") -> Policy:
    """The Policy for an already-parsed mapping; raises PolicyError listing every problem by path."""
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(source, [f"{source}: {_path(e['loc'])}: {_message(e)}" for e in exc.errors()]) from None


def parse_policy(text: str, source: str = "policy.yaml") -> Policy:
    """The Policy in YAML ``text``; raises PolicyError whose problems name the file line."""
    try:
        data, lines = load_yaml(text, source)
    except ConfigError as exc:
        raise PolicyError(source, exc.problems) from None
    if not isinstance(data, dict):
        raise PolicyError(source, [f"{source}:1: a log policy must be a mapping, e.g. 'policy: filtered'"])
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            problems.append(f"{source}:{_line_of(lines, loc)}: {_path(loc)}: {_message(err)}")
        raise PolicyError(source, problems) from None


def default_policy(kind: str) -> Policy:
    """The named kind with every default; raises PolicyError for an unknown kind."""
    return build_policy({"policy": kind}, source=f"policy {kind!r}")


def _path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(x) for x in loc) or "policy"


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _line_of(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    key = tuple(loc)
    if not key:
        # Whole-document errors come from the 'policy' field check; point at that key.
        return lines.get(("policy",), 1)
    while key and key not in lines:
        key = key[:-1]
    return lines.get(key, 1)
