"""The demo competition: a deterministic dataset, a template equal to the scoring package's, install()."""

import filecmp

import pytest
import yaml

from arenahub.demo import DEMO_COMPETITION, install, write_demo_dataset
from arenahub.scoring import DEMO_TEMPLATE, score_test_run
from arenahub.gateway.competitionfile import load_competition_text

pytestmark = pytest.mark.unit


def test_the_same_seed_writes_the_same_dataset(tmp_path):
    a = write_demo_dataset(tmp_path / "a", seed=3, n_train=20, n_test=10)
    b = write_demo_dataset(tmp_path / "b", seed=3, n_train=20, n_test=10)
    c = write_demo_dataset(tmp_path / "c", seed=4, n_train=20, n_test=10)
    for part in ("train", "test/inputs", "test/annotations"):
        match, mismatch, errors = filecmp.cmpfiles(a / part, b / part, [p.name for p in (a / part).iterdir()], shallow=False)
        assert not mismatch and not errors and match
    assert (a / "train" / "samples.jsonl").read_bytes() != (c / "train" / "samples.jsonl").read_bytes()
    assert sorted(p.name for p in (a / "test" / "inputs").iterdir())[:2] == ["00000.json", "00001.json"]


def test_the_demo_file_evaluates_with_the_scoring_packages_demo_template():
    assert yaml.safe_load(DEMO_COMPETITION.read_text())["evaluation"] == yaml.safe_load(DEMO_TEMPLATE.read_text())


def test_install_writes_a_valid_competition_with_the_dataset_path_and_is_safe_to_repeat(tmp_path):
    first = install(tmp_path)
    again = install(tmp_path)
    assert first.spec.datasets[0].path == str(first.dataset_dir) == str(again.dataset_dir)
    assert load_competition_text(first.yaml_path.read_text()).spec == first.spec
    assert len(list((first.dataset_dir / "test" / "annotations").iterdir())) == 100


def test_answers_copied_from_the_annotations_score_one_on_both_splits(tmp_path):
    demo = install(tmp_path)
    outputs = tmp_path / "work" / "outputs"
    outputs.mkdir(parents=True)
    for path in (demo.dataset_dir / "test" / "annotations").iterdir():
        (outputs / path.name).write_bytes(path.read_bytes())
    loaded = load_competition_text(demo.yaml_text)
    board = loaded.spec.leaderboard
    scores = score_test_run(loaded.template, demo.dataset_dir / "test" / "annotations", tmp_path / "work",
                            public_fraction=board.public_fraction, seed=board.split_seed)
    assert (scores.public.score, scores.private.score) == (1.0, 1.0)
    assert 30 < len(scores.public.per_sample) < 70
