"""Scores one finished test run: its outputs folder against the dataset's annotations, split public/private."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from arenahub.scoring.outputs import FORMAT_SUFFIX, load_annotations, open_outputs_dir, read_output
from arenahub.scoring.scorer import OutputData, ScoreReport, score
from arenahub.scoring.split import split_samples
from arenahub.scoring.template import EvaluationTemplate

#: Where a test job writes its outputs, relative to its working directory (/workspace in the sandbox).
OUTPUTS_SUBDIR = "outputs"


@dataclass(frozen=True)
class RunScores:
    """A test run's reports on the public and private samples (None when a split has no samples)."""

    public: ScoreReport | None
    private: ScoreReport | None

    @property
    def samples(self) -> int:
        """How many samples were scored in all."""
        return sum(len(r.per_sample) for r in (self.public, self.private) if r is not None)


def score_samples(template: EvaluationTemplate, samples: list[tuple[str, OutputData, bytes]],
                  *, public_fraction: float, seed: int) -> RunScores:
    """Split (sample id, output, annotation) triples by ``seed`` and score each split (pure)."""
    pairs = [(sample_id, (output, annotation)) for sample_id, output, annotation in samples]
    public, private = split_samples(pairs, seed, public_fraction)

    def report(part: list[tuple[str, tuple[OutputData, bytes]]]) -> ScoreReport | None:
        return score(template, [(i, out, ann) for i, (out, ann) in part]) if part else None

    return RunScores(public=report(public), private=report(private))


def score_test_run(template: EvaluationTemplate, annotations_dir: Path, work_dir: Path,
                   *, public_fraction: float, seed: int, outputs_subdir: str = OUTPUTS_SUBDIR) -> RunScores:
    """Score the outputs a test job left in ``work_dir/outputs`` against ``annotations_dir``.

    Sample ``<id>`` is ``<id>.json`` (or ``.xml``) in both folders. Outputs are opened without
    following symlinks (see arenahub.scoring.outputs); a missing, refused or malformed output
    scores that sample 0 with a reason. Raises AnnotationsMissing when the annotations folder
    cannot be read, and ScoringError when a custom aggregate fails.
    """
    annotation_format = template.annotation_format or template.output_format
    annotations = load_annotations(annotations_dir, annotation_format)
    suffix = FORMAT_SUFFIX[template.output_format]
    # Read one byte past the limit so the scorer can tell an oversized output from a full one.
    limit = template.max_output_bytes
    with open_outputs_dir(work_dir, outputs_subdir) as dir_fd:
        samples = [(sample_id, read_output(dir_fd, sample_id + suffix, limit), annotation)
                   for sample_id, annotation in annotations]
    return score_samples(template, samples, public_fraction=public_fraction, seed=seed)
