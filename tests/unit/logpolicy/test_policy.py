"""Tests of arenahub.logpolicy.policy and loading: the organiser's YAML and its error messages."""

from pathlib import Path

import pytest

from arenahub.logpolicy import PolicyError, build_policy, default_policy, load_policy, parse_policy

pytestmark = pytest.mark.unit


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "policy.yaml")
    return caught.value.problems


@pytest.mark.parametrize("kind, budget, line_bytes", [
    ("open", None, 16000),
    ("filtered", 1024 * 1024, 2000),
    ("whitelist", 1024 * 1024, 2000),
])
def test_naming_only_the_kind_gives_that_kinds_defaults(kind, budget, line_bytes):
    policy = default_policy(kind)
    assert (policy.policy, policy.leak_budget_bytes, policy.max_line_bytes) == (kind, budget, line_bytes)


def test_fields_given_in_yaml_override_the_kinds_defaults():
    policy = parse_policy("policy: filtered\nleak_budget_bytes: 4096\ndetection:\n  window_lines: 10\n")
    assert (policy.leak_budget_bytes, policy.detection.window_lines, policy.max_line_bytes) == (4096, 10, 2000)


def test_an_unknown_policy_name_is_rejected_listing_the_valid_ones():
    [problem] = problems_of("policy: paranoid\n")
    assert problem.startswith("policy.yaml:1:")
    assert "unknown policy 'paranoid'" in problem and "open, filtered, whitelist" in problem


def test_a_missing_policy_key_says_which_kinds_exist():
    [problem] = problems_of("max_line_bytes: 100\n")
    assert "missing 'policy'" in problem and "open, filtered, whitelist" in problem


def test_a_bad_value_is_reported_with_its_file_line_and_path():
    [problem] = problems_of("policy: filtered\n\nmax_line_bytes: 3\n")
    assert problem.startswith("policy.yaml:3: max_line_bytes:")
    assert "greater than or equal to 16" in problem


def test_every_problem_is_reported_at_once():
    problems = problems_of("policy: whitelist\nmax_line_bytes: -1\nmetrics:\n  max_names: 0\n  colour: red\n")
    assert [p.split(":")[1] for p in problems] == ["2", "4", "5"]
    assert "Extra inputs are not permitted" in problems[2]


def test_a_yaml_syntax_error_names_its_line():
    [problem] = problems_of("policy: filtered\ndetection: [unclosed\n")
    assert problem.startswith("policy.yaml:") and "YAML syntax" in problem


def test_a_document_that_is_not_a_mapping_is_rejected():
    [problem] = problems_of("- filtered\n")
    assert "must be a mapping" in problem


def test_an_unknown_builtin_template_lists_the_available_ones():
    [problem] = problems_of("policy: whitelist\nwhitelist:\n  templates: [tqdm, fastai]\n")
    assert problem.startswith("policy.yaml:3:")
    assert "unknown template 'fastai'" in problem and "tqdm, keras, lightning, hf_trainer, pytorch, key_value" in problem


def test_an_allow_pattern_must_be_a_regular_expression():
    [problem] = problems_of("policy: whitelist\nwhitelist:\n  allow:\n    - name: mine\n      pattern: 'step (\\d+'\n")
    assert "not a valid regular expression" in problem


def test_detection_thresholds_must_keep_their_order():
    with pytest.raises(PolicyError) as caught:
        build_policy({"policy": "filtered", "detection": {"token_min_chars": 50, "base64_min_chars": 40}})
    assert "token_min_chars must be smaller than base64_min_chars" in caught.value.problems[0]


def test_load_policy_reads_a_file_and_names_it_in_errors(tmp_path: Path):
    path = tmp_path / "comp-policy.yaml"
    path.write_text("policy: whitelist\nwhitelist:\n  exception_message_chars: 20\n")
    assert load_policy(path).whitelist.exception_message_chars == 20
    path.write_text("policy: nope\n")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    assert caught.value.problems[0].startswith(f"{path}:1:")


def test_a_missing_policy_file_is_a_policy_error(tmp_path: Path):
    with pytest.raises(PolicyError) as caught:
        load_policy(tmp_path / "absent.yaml")
    assert "cannot read the policy file" in caught.value.problems[0]
