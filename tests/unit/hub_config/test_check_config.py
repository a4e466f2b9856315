import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app

pytestmark = pytest.mark.unit


def check(tmp_path, text):
    f = tmp_path / "arenahub.yaml"
    f.write_text(text)
    return CliRunner().invoke(app, ["check-config", str(f)])


def test_a_valid_file_passes(tmp_path):
    r = check(tmp_path, "port: 8000\ncull:\n  timeout_s: 600\n")
    assert r.exit_code == 0, r.output


def test_errors_point_at_the_line_and_setting(tmp_path):
    r = check(tmp_path, "port: 8000\ncull:\n  timeout_s: -5\nprofiles:\n  - slug: a\n    display_name: A\n    gpu_fraction: 2\n")
    assert r.exit_code == 2
    assert "arenahub.yaml:3: cull.timeout_s: Input should be greater than 0" in r.output
    assert "arenahub.yaml:7: profiles.0.gpu_fraction: Input should be less than or equal to 1" in r.output


def test_unknown_settings_and_syntax_errors_are_reported(tmp_path):
    r = check(tmp_path, "port: 8000\nculll: {}\n")
    assert r.exit_code == 2 and "arenahub.yaml:2: culll: Extra inputs are not permitted" in r.output
    r = check(tmp_path, "port: [8000\n")
    assert r.exit_code == 2 and "YAML syntax" in r.output
