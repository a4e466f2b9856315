"""Tests of ``arenahub logfilter``: shown log on stdout, JSON summary on stderr, --explain, errors."""

import base64
import io
import json
import random

import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app
from arenahub.logpolicy.cli import logfilter_command

pytestmark = pytest.mark.unit

PAYLOAD = base64.b64encode(random.Random(2).randbytes(90)).decode()
LOG = f"epoch 1 loss=0.5\n{PAYLOAD}\nepoch 2 loss=0.4\n".encode()


def run_command(policy, data=LOG, **kwargs):
    stdout, stderr, withheld = io.BytesIO(), io.StringIO(), io.StringIO()
    code = logfilter_command(policy, kwargs.pop("job_budget", None), io.BytesIO(data), stdout, stderr, withheld=withheld, **kwargs)
    return code, stdout.getvalue().decode(), stderr.getvalue(), withheld.getvalue()


def test_a_named_policy_filters_stdin_and_prints_the_summary_on_stderr():
    code, shown, summary, _ = run_command("filtered")
    assert code == 0
    assert shown == "epoch 1 loss=0.5\n[1 line withheld: encoded-data]\nepoch 2 loss=0.4\n"
    fields = json.loads(summary)
    assert {k: fields[k] for k in ("lines_in", "lines_passed", "lines_redacted", "lines_withheld", "reasons")} == {
        "lines_in": 3, "lines_passed": 2, "lines_redacted": 0, "lines_withheld": 1, "reasons": {"encoded-data": 1}}
    assert fields["bytes_passed"] == len(shown.encode())


def test_withheld_lines_are_written_for_the_organiser_as_json_lines():
    _, _, _, withheld = run_command("filtered")
    [record] = [json.loads(line) for line in withheld.splitlines()]
    assert record == {"line": 2, "action": "withhold", "reason": "encoded-data", "text": PAYLOAD}


def test_a_policy_file_and_a_job_budget_are_applied(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("policy: filtered\nleak_budget_bytes: 100000\n")
    code, shown, summary, _ = run_command(str(path), job_budget=20)
    assert code == 0 and shown.splitlines() == ["epoch 1 loss=0.5", "[2 lines withheld: 1 encoded-data, 1 leak-budget]"]
    assert json.loads(summary)["leak_budget_bytes"] == 20


def test_explain_prints_every_lines_verdict_and_reason():
    code, explained, _, _ = run_command("filtered", is_explained=True)
    rows = [line.split(None, 3) for line in explained.splitlines()]
    assert code == 0
    assert [tuple(r[:3]) for r in rows] == [
        ("1", "pass", "-"), ("2", "withhold", "encoded-data"), ("marker", "encoded-data", "[1"), ("3", "pass", "-")]


def test_a_bad_policy_file_exits_2_naming_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("policy: filtered\nmax_line_bytes: nope\n")
    code, shown, errors, _ = run_command(str(path))
    assert code == 2 and shown == ""
    assert errors.startswith(f"error: {path}:2: max_line_bytes:")


def test_an_unknown_policy_name_lists_the_valid_ones():
    code, _, errors, _ = run_command("paranoid")
    assert code == 2 and "open, filtered, whitelist" in errors


def test_the_arenahub_command_mounts_logfilter():
    result = CliRunner().invoke(app, ["logfilter", "--policy", "whitelist", "--explain"], input="hello\nEpoch 1/3\n")
    assert result.exit_code == 0
    assert "not-whitelisted" in result.stdout and "Epoch 1/3" in result.stdout
