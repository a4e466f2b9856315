"""Automatic test scoring: evaluation templates, route paths, comparators, aggregates, splits and the leaderboard."""

from pathlib import Path

from arenahub.scoring.evaluation import OUTPUTS_SUBDIR, RunScores, score_samples, score_test_run
from arenahub.scoring.leaderboard import Entry, build_rows, choose_entry
from arenahub.scoring.outputs import AnnotationsMissing
from arenahub.scoring.routes import ExtractionError, RoutePathError
from arenahub.scoring.scorer import (
    OutputData,
    RefusedOutput,
    SampleResult,
    ScoreReport,
    ScoringError,
    score,
)
from arenahub.scoring.split import sample_split, split_samples
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
    "OUTPUTS_SUBDIR",
    "AnnotationsMissing",
    "Entry",
    "EvaluationTemplate",
    "ExtractionError",
    "OutputData",
    "RefusedOutput",
    "RoutePathError",
    "RunScores",
    "SampleResult",
    "ScoreReport",
    "ScoringError",
    "TemplateError",
    "build_rows",
    "build_template",
    "choose_entry",
    "load_template_text",
    "sample_split",
    "score",
    "score_samples",
    "score_test_run",
    "split_samples",
]
