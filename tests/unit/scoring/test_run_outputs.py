"""Reading a test run's outputs outside the sandbox: symlinks, hard links, FIFOs and folders are refused, never followed."""

import json
import os

import pytest

from arenahub.scoring import DEMO_TEMPLATE, AnnotationsMissing, RefusedOutput, load_template_text, score_test_run
from arenahub.scoring.outputs import load_annotations, open_outputs_dir, read_output

pytestmark = pytest.mark.unit

TEMPLATE = load_template_text(DEMO_TEMPLATE.read_text())


@pytest.fixture
def run(tmp_path):
    """Annotations 0..3 and a work folder with outputs/ (each test fills it)."""
    annotations = tmp_path / "annotations"
    annotations.mkdir()
    for i in range(4):
        (annotations / f"{i}.json").write_text(json.dumps({"label": "cat", "count": i}))
    (annotations / "README.txt").write_text("ignored")
    outputs = tmp_path / "work" / "outputs"
    outputs.mkdir(parents=True)
    return annotations, outputs


def read(outputs, name, limit=100):
    with open_outputs_dir(outputs.parent) as fd:
        return read_output(fd, name, limit)


def test_a_regular_output_is_read_and_a_missing_one_is_none(run):
    _, outputs = run
    (outputs / "0.json").write_text('{"label": "cat"}')
    assert read(outputs, "0.json") == b'{"label": "cat"}'
    assert read(outputs, "1.json") is None


def test_a_symlinked_output_is_refused_even_when_it_points_at_the_annotation(run):
    annotations, outputs = run
    (outputs / "0.json").symlink_to(annotations / "0.json")
    found = read(outputs, "0.json")
    assert isinstance(found, RefusedOutput) and "symbolic link" in found.reason


def test_a_hard_link_a_fifo_and_a_folder_are_refused_without_blocking(run):
    _, outputs = run
    (outputs / "real.json").write_text("{}")
    os.link(outputs / "real.json", outputs / "0.json")
    os.mkfifo(outputs / "1.json")
    (outputs / "2.json").mkdir()
    assert "hard link" in read(outputs, "0.json").reason
    assert "not a regular file" in read(outputs, "1.json").reason
    assert "not a regular file" in read(outputs, "2.json").reason


def test_an_outputs_folder_that_is_a_symlink_counts_as_no_outputs(run, tmp_path):
    annotations, outputs = run
    outputs.rmdir()
    outputs.symlink_to(annotations)
    with open_outputs_dir(outputs.parent) as fd:
        assert fd is None
        assert read_output(fd, "0.json", 100) is None


def test_reading_stops_one_byte_past_the_limit(run):
    _, outputs = run
    (outputs / "0.json").write_bytes(b"x" * 10_000)
    assert len(read(outputs, "0.json", limit=50)) == 51


def test_annotations_are_listed_by_id_with_other_files_ignored(run):
    annotations, _ = run
    assert [i for i, _ in load_annotations(annotations, "json")] == ["0", "1", "2", "3"]
    with pytest.raises(AnnotationsMissing, match="Cannot read the annotations"):
        load_annotations(annotations / "nope", "json")


def test_a_whole_run_scores_good_missing_refused_and_malformed_outputs(run):
    annotations, outputs = run
    (outputs / "0.json").write_text('{"label": "CAT", "count": 0}')
    (outputs / "1.json").symlink_to(annotations / "1.json")
    (outputs / "2.json").write_text("{not json")
    scores = score_test_run(TEMPLATE, annotations, outputs.parent, public_fraction=1.0, seed=0)
    assert scores.private is None and scores.samples == 4
    by_id = {r.sample_id: r for r in scores.public.per_sample}
    assert by_id["0"].score == 1.0
    assert by_id["1"].score == 0.0 and "symbolic link" in by_id["1"].reason
    assert by_id["2"].score == 0.0 and "not valid JSON" in by_id["2"].reason
    assert by_id["3"].score == 0.0 and "no output file" in by_id["3"].reason
    assert scores.public.score == 0.25
    assert scores.public.metrics["invalid_outputs"] == 2 and scores.public.metrics["missing_outputs"] == 1


def test_a_run_without_an_outputs_folder_scores_zero_everywhere(run):
    annotations, outputs = run
    outputs.rmdir()
    scores = score_test_run(TEMPLATE, annotations, outputs.parent, public_fraction=0.5, seed=3)
    reports = [r for r in (scores.public, scores.private) if r is not None]
    assert sum(len(r.per_sample) for r in reports) == 4
    assert all(r.score == 0.0 for r in reports)
