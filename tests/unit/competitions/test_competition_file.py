"""Competition files: the schema in arenahub.core.competition and the full check with line numbers."""

from datetime import datetime, timezone

import pytest

from arenahub.core.competition import CompetitionSpec
from arenahub.core.yamlconf import ConfigError
from arenahub.demo import DEMO_COMPETITION
from arenahub.gateway.competitionfile import load_competition_text, load_stored_competition

pytestmark = pytest.mark.unit

VALID = """\
id: spring-cup
title: Spring cup
window:
  opens_at: 2026-03-01T00:00:00Z
  closes_at: 2026-04-01T00:00:00Z
datasets:
  - name: faces
    path: /srv/data/faces
  - name: faces-extra
test_dataset: faces
evaluation:
  fields:
    - name: age
      output: people[0].age@num
      compare: {kind: numeric, abs_tol: 3}
"""


def problems_of(text):
    with pytest.raises(ConfigError) as caught:
        load_competition_text(text, "c.yaml")
    return caught.value.problems


def test_a_valid_file_gives_the_spec_and_its_compiled_template():
    loaded = load_competition_text(VALID, "c.yaml")
    assert loaded.spec.id == "spring-cup"
    assert loaded.spec.scored_dataset == "faces"
    assert loaded.spec.log_policy_kind == "filtered"
    assert loaded.spec.leaderboard.public_fraction == 0.5
    assert [f.name for f in loaded.template.fields] == ["age"]


def test_the_shipped_demo_competition_is_valid():
    assert load_competition_text(DEMO_COMPETITION.read_text()).spec.id == "demo"


@pytest.mark.parametrize("change, expected", [
    (("id: spring-cup", "id: Spring Cup"), "c.yaml:1: id: 'Spring Cup' is not a competition id"),
    (("title: Spring cup", "title: ''"), "c.yaml:2: title: String should have at least 1 character"),
    (("closes_at: 2026-04-01T00:00:00Z", "closes_at: 2026-02-01T00:00:00Z"), "c.yaml:3: window: closes_at (2026-02-01T00:00:00+00:00) must be after"),
    (("test_dataset: faces", "test_dataset: cats"), "c.yaml:1: (top): test_dataset 'cats' is not one of"),
    (("path: /srv/data/faces", "path: data/faces"), "c.yaml:8: datasets.0.path: 'data/faces' is relative"),
    (("abs_tol: 3", "abs_tol: -3"), "c.yaml:15: evaluation.fields[0].compare.abs_tol: Input should be greater"),
    (("people[0].age@num", "people[0.age@num"), "c.yaml:14: evaluation.fields[0].output: Bad route path"),
    (("kind: numeric", "kind: fuzzy"), "c.yaml:15: evaluation.fields[0].compare: Input tag 'fuzzy'"),
])
def test_each_problem_names_its_line_and_path(change, expected):
    old, new = change
    found = problems_of(VALID.replace(old, new))
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_of_a_file_is_reported_in_one_run():
    text = VALID.replace("abs_tol: 3", "abs_tol: -3").replace("output: people[0].age@num", "output: age@wat")
    text += "log_policy: {policy: whitelist, bogus: 1}\nleaderboard: {public_fraction: 2}\n"
    found = problems_of(text)
    # Schema problems come first; the template and the policy are checked once the schema holds.
    assert [p.split(": ")[1] for p in found] == ["leaderboard.public_fraction"]
    found = problems_of(text.replace("leaderboard: {public_fraction: 2}\n", ""))
    assert [p.split(": ")[1] for p in found] == [
        "evaluation.fields[0].compare.abs_tol", "evaluation.fields[0].output", "log_policy.bogus"]
    assert found[2].startswith("c.yaml:16:")


@pytest.mark.parametrize("text, expected", [
    ("id: [unclosed\n", "c.yaml:2: YAML syntax"),
    ("- just a list\n", "c.yaml:1: the file must be a mapping"),
    ("id: x\ntitle: X\n", "c.yaml:1: datasets: Field required"),
])
def test_broken_files_say_what_is_wrong(text, expected):
    assert any(p.startswith(expected) for p in problems_of(text))


@pytest.mark.parametrize("policy, ok", [
    ("open", True), ("whitelist", True), ("chatty", False), ({"policy": "filtered"}, True), ({"budget": 1}, False),
])
def test_the_log_policy_is_a_kind_or_an_inline_policy(policy, ok):
    data = {"id": "x", "title": "X", "datasets": [{"name": "d"}], "evaluation": {}, "log_policy": policy}
    if ok:
        assert CompetitionSpec.model_validate(data).log_policy_kind in ("open", "whitelist", "filtered")
    else:
        with pytest.raises(ValueError, match="valid: open, filtered, whitelist"):
            CompetitionSpec.model_validate(data)


def test_a_dataset_listed_twice_or_a_leaderboard_without_score_is_refused():
    base = {"id": "x", "title": "X", "evaluation": {}}
    with pytest.raises(ValueError, match="d listed twice"):
        CompetitionSpec.model_validate({**base, "datasets": [{"name": "d"}, {"name": "d"}]})
    with pytest.raises(ValueError, match="must include user and score"):
        CompetitionSpec.model_validate({**base, "datasets": [{"name": "d"}], "leaderboard": {"columns": ["user"]}})


def test_the_window_decides_when_the_competition_is_open():
    spec = load_competition_text(VALID).spec
    assert not spec.is_open_at(datetime(2026, 2, 28, tzinfo=timezone.utc))
    assert spec.is_open_at(datetime(2026, 3, 1, tzinfo=timezone.utc))
    assert not spec.is_open_at(datetime(2026, 4, 1, tzinfo=timezone.utc))


def test_a_stored_spec_loads_back_with_its_template():
    loaded = load_competition_text(VALID)
    spec, template = load_stored_competition(loaded.spec.model_dump(mode="json"))
    assert spec == loaded.spec
    assert template.fields[0].compare.abs_tol == 3
