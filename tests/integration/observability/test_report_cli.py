"""``arenahub report utilisation`` against a real (SQLite) gateway database and a sampler log."""

import json
import time

import pytest
from typer.testing import CliRunner

from arenahub.cli.main import app
from arenahub.gateway.db import Database, run_migrations
from arenahub.gateway.models import Job

pytestmark = pytest.mark.integration


def test_the_report_writes_csv_and_png_from_jobs_and_gpu_samples(tmp_path):
    gateway_dir = tmp_path / "gateway"
    db = Database.from_url(f"sqlite:///{gateway_dir / 'gateway.sqlite'}")
    run_migrations(db.engine)
    now = time.time()
    db.run_sync(lambda s: s.add(Job(
        id="j1", user="ada", kind="train", spec={"competition": "faces"}, code_sha256="0" * 64, code_bytes=1,
        dataset=None, gpus_requested=2, status="succeeded", created_at=now - 7200, started_at=now - 7200,
        finished_at=now - 3600, node="local", gpus=[0, 1], log_offset=0, log_lines=0)))
    db.dispose()
    samples = gateway_dir / "gpu-samples"
    samples.mkdir()
    rows = [{"kind": "notebook", "key": "bob/", "user": "bob", "competition": "", "profile": "gpu-quarter",
             "t": now - 600 * i, "interval_s": 600, "allocated_gpus": 0.25, "used_gpus": 0.05,
             "mem_used_bytes": 0} for i in range(1, 7)]
    (samples / "today.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n")

    result = CliRunner().invoke(app, ["report", "utilisation", "--since", "1d", "--gateway-dir", str(gateway_dir),
                                      "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    csv_lines = (tmp_path / "out" / "utilisation.csv").read_text().splitlines()
    assert "profile,job-2gpu,2.0000,0.0000,0.0000," in csv_lines
    assert "user,bob,0.2500,0.2500,0.0500,0.2000" in csv_lines
    assert (tmp_path / "out" / "utilisation.png").read_bytes()[:4] == b"\x89PNG"


def test_a_span_without_a_unit_is_refused_and_names_the_units(tmp_path):
    result = CliRunner().invoke(app, ["report", "utilisation", "--since", "week", "--gateway-dir", str(tmp_path)])
    assert result.exit_code == 2 and "7d, 36h, 90m or 3600s" in result.output
