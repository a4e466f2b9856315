"""Automatic test scoring: evaluation templates, route paths, comparators and aggregates."""

from pathlib import Path

from arenahub.scoring.routes import ExtractionError, RoutePathError
from arenahub.scoring.scorer import SampleResult, ScoreReport, ScoringError, score
from arenahub.scoring.template import (
    EvaluationTemplate,
    TemplateError,
    build_template,
    load_template_text,
)

#: The demo competition's template (read it with load_template_text(DEMO_TEMPLATE.read_text())).
DEMO_TEMPLATE = Path(__file__).with_name("demo_template.yaml")

__all__ = [
    "DEMO_TEMPLATE",
    "EvaluationTemplate",
    "ExtractionError",
    "RoutePathError",
    "SampleResult",
    "ScoreReport",
    "ScoringError",
    "TemplateError",
    "build_template",
    "load_template_text",
    "score",
]
