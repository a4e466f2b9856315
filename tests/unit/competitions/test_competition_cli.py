"""``arenahub competition``: offline validation and clear errors without a token or gateway."""

import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app
from arenahub.demo import DEMO_COMPETITION

pytestmark = pytest.mark.unit


def test_validate_accepts_the_demo_competition():
    result = CliRunner().invoke(app, ["competition", "validate", str(DEMO_COMPETITION)])
    assert result.exit_code == 0, result.output
    assert "is valid: competition 'demo'" in result.output


def test_validate_lists_every_problem_with_its_line_and_exits_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(DEMO_COMPETITION.read_text().replace("abs_tol: 0", "abs_tol: -1").replace("label@str", "label@txt"))
    result = CliRunner().invoke(app, ["competition", "validate", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:27: evaluation.fields[1].compare.abs_tol" in result.output
    assert f"{bad}:23: evaluation.fields[0].output: Bad route path" in result.output


def test_create_without_a_token_says_how_to_give_one(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    result = CliRunner().invoke(app, ["competition", "create", str(DEMO_COMPETITION)])
    assert result.exit_code == 1
    assert "No admin token: pass --token or set JUPYTERHUB_API_TOKEN" in result.output


def test_list_against_a_gateway_that_is_not_there_names_the_url():
    result = CliRunner().invoke(app, ["competition", "list", "--token", "t", "--gateway-url", "http://127.0.0.1:9/"])
    assert result.exit_code == 1
    assert "Cannot reach the gateway at http://127.0.0.1:9/" in result.output
