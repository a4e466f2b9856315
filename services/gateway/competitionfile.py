"""Loads a competition file: the schema, its evaluation template and inline log policy, every problem with its line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from arenahub.core.competition import CompetitionSpec
from arenahub.core.yamlconf import ConfigError, load_yaml, validate_yaml
from arenahub.logpolicy import PolicyError, build_policy
from arenahub.scoring import EvaluationTemplate, TemplateError, build_template

_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True)
class CompetitionFile:
    """A checked competition: the spec, its compiled evaluation template, and the YAML it came from."""

    spec: CompetitionSpec
    template: EvaluationTemplate
    source_text: str


def _loc(path: str) -> tuple[Any, ...]:
    """``evaluation.fields[0].output`` as ("evaluation", "fields", 0, "output")."""
    return tuple(int(index) if index else key for key, index in _STEP.findall(path))


def _nearest_line(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int:
    while loc and loc not in lines:
        loc = loc[:-1]
    return lines.get(loc, 1)


def _with_lines(problems: list[str], lines: dict[tuple[Any, ...], int], source: str) -> list[str]:
    out = []
    for problem in problems:
        path, _, message = problem.partition(": ")
        out.append(f"{source}:{_nearest_line(lines, _loc(path))}: {path}: {message}")
    return out


def load_competition_text(text: str, source: str = "competition.yaml") -> CompetitionFile:
    """Check a competition file's text; raises ConfigError listing every problem as ``file:line: path: message``.

    Checks the schema (arenahub.core.competition), then the evaluation template (route paths,
    comparators, entry points) and an inline log policy, so one run reports all of them.
    """
    try:
        spec = validate_yaml(CompetitionSpec, text, source)
    except ConfigError as err:  # pydantic prefixes our own checks' messages with "Value error, "
        raise ConfigError(source, [p.replace(": Value error, ", ": ", 1) for p in err.problems]) from None
    _data, lines = load_yaml(text, source)
    problems: list[str] = []
    template: EvaluationTemplate | None = None
    try:
        template = build_template(spec.evaluation, prefix="evaluation")
    except TemplateError as err:
        problems += _with_lines(str(err).splitlines()[1:], lines, source)
    if isinstance(spec.log_policy, dict):
        try:
            build_policy(spec.log_policy, source="log_policy")
        except PolicyError as err:
            # build_policy writes "log_policy: <path>: message"; join the two paths.
            problems += _with_lines([p.replace(": ", ".", 1) for p in err.problems], lines, source)
    if problems or template is None:
        raise ConfigError(source, problems)
    return CompetitionFile(spec=spec, template=template, source_text=text)


def load_stored_competition(spec_json: dict[str, Any]) -> tuple[CompetitionSpec, EvaluationTemplate]:
    """The spec and template of a competition the gateway stored (already checked when created)."""
    spec = CompetitionSpec.model_validate(spec_json)
    return spec, build_template(spec.evaluation)
