"""The retention rule (arenahub.gateway.retention) and the upload removal it drives (snapshots.remove_upload)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from arenahub.gateway.retention import DAY_S, UploadFacts, is_plain_job_id, keep_reason, removed_message
from arenahub.gateway.retention_settings import RetentionSettings
from arenahub.gateway.settings import GatewaySettings
from arenahub.gateway.snapshots import UnsafeUpload, remove_upload

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.0
OLD = NOW - 31 * DAY_S


@pytest.mark.parametrize("facts, days, kept_because", [
    (UploadFacts("a", "succeeded", OLD, OLD), 30, None),
    (UploadFacts("a", "failed", OLD, OLD), 30, None),
    (UploadFacts("a", "cancelled", OLD, None), 30, None),  # cancelled while queued: no finish time, its creation counts
    (UploadFacts("a", "succeeded", OLD, NOW - 29 * DAY_S), 30, "finished less than 30 days ago"),
    (UploadFacts("a", "succeeded", OLD, OLD), 0, "retention is off (snapshot_days 0)"),
    (UploadFacts("a", "running", OLD, None), 30, "the job has not finished"),
    (UploadFacts("a", "queued", OLD, None), 30, "the job has not finished"),
    (UploadFacts("a", "succeeded", OLD, OLD, on_leaderboard=True), 30, "a leaderboard entry"),
    (UploadFacts("a", "succeeded", OLD, OLD, scored_for_open_competition=True), 30,
     "scored for a competition that is not closed"),
    (UploadFacts("a", "succeeded", OLD, NOW - 0.6 * DAY_S), 0.5, None),  # fractions of a day are allowed
])
def test_an_upload_is_let_go_only_when_finished_long_enough_ago_and_no_leaderboard_needs_it(facts, days, kept_because):
    assert keep_reason(facts, snapshot_days=days, now=NOW) == kept_because


@pytest.mark.parametrize("job_id, plain", [
    ("3f9c0a1b2d4e5f60", True), ("job_1-a", True),
    ("../etc", False), ("a/b", False), (".hidden", False), ("", False), ("..", False), ("a" * 33, False),
    ("a\x00b", False),
])
def test_only_a_plain_folder_name_is_a_job_id_the_sweep_turns_into_a_path(job_id, plain):
    assert is_plain_job_id(job_id) is plain


def test_the_removed_message_says_when_why_and_keeps_the_hash():
    message = removed_message("3f9c0a1b2d4e5f60", "ab" * 32, 1_795_000_000.0)
    assert "was removed on 2026-11-18 " in message and "UTC by the gateway's retention rule" in message
    assert "ARENAHUB_GATEWAY_RETENTION__SNAPSHOT_DAYS" in message and "ab" * 32 in message


def test_retention_is_off_by_default_and_read_from_the_environment(monkeypatch):
    assert RetentionSettings().snapshot_days == 0
    monkeypatch.setenv("ARENAHUB_GATEWAY_RETENTION__SNAPSHOT_DAYS", "90")
    monkeypatch.setenv("ARENAHUB_GATEWAY_RETENTION__SWEEP_INTERVAL_S", "600")
    settings = GatewaySettings(environment="dev")
    assert (settings.retention.snapshot_days, settings.retention.sweep_interval_s) == (90, 600)


def test_a_negative_retention_is_refused_naming_the_setting(monkeypatch):
    monkeypatch.setenv("ARENAHUB_GATEWAY_RETENTION__SNAPSHOT_DAYS", "-1")
    with pytest.raises(ValueError, match=r"retention\.snapshot_days"):
        GatewaySettings(environment="dev")


def _upload(state_dir: Path, job_id: str) -> Path:
    folder = state_dir / "jobs" / job_id
    (folder / "code" / "lib").mkdir(parents=True)
    (folder / "code" / "lib" / "util.py").write_text("X = 1\n")
    (folder / "code.tar.gz").write_bytes(b"archive")
    os.chmod(folder / "code.tar.gz", 0o444)
    return folder


def test_removing_an_upload_deletes_the_archive_and_the_unpacked_code_and_nothing_else(tmp_path):
    folder = _upload(tmp_path, "3f9c0a1b2d4e5f60")
    (folder / "notes.txt").write_text("kept")
    neighbour = _upload(tmp_path, "0000000000000001")
    assert remove_upload(tmp_path, "3f9c0a1b2d4e5f60") is True
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]
    assert (neighbour / "code.tar.gz").read_bytes() == b"archive" and (neighbour / "code" / "lib" / "util.py").exists()
    assert remove_upload(tmp_path, "3f9c0a1b2d4e5f60") is False  # nothing left: safe to repeat
    assert remove_upload(tmp_path, "ffffffffffffffff") is False


@pytest.mark.parametrize("job_id", ["../victim", "..", "victim/..", ".", "/tmp"])
def test_a_crafted_job_id_removes_nothing(tmp_path, job_id):
    state = tmp_path / "state"
    _upload(state, "3f9c0a1b2d4e5f60")
    victim = tmp_path / "victim"
    (victim / "code").mkdir(parents=True)
    (victim / "code.tar.gz").write_bytes(b"precious")
    with pytest.raises(UnsafeUpload, match="not a plain folder name"):
        remove_upload(state, job_id)
    assert (victim / "code.tar.gz").read_bytes() == b"precious" and (victim / "code").is_dir()


def test_a_job_folder_that_is_a_symbolic_link_is_not_followed(tmp_path):
    state = tmp_path / "state"
    (state / "jobs").mkdir(parents=True)
    outside = tmp_path / "outside"
    (outside / "code").mkdir(parents=True)
    (outside / "code.tar.gz").write_bytes(b"precious")
    (state / "jobs" / "3f9c0a1b2d4e5f60").symlink_to(outside)
    with pytest.raises(UnsafeUpload, match="is not a plain folder"):
        remove_upload(state, "3f9c0a1b2d4e5f60")
    assert (outside / "code.tar.gz").read_bytes() == b"precious" and (outside / "code").is_dir()


@pytest.mark.parametrize("link", ["code", "code.tar.gz"])
def test_links_inside_the_job_folder_are_refused_and_the_folder_keeps_everything(tmp_path, link):
    state = tmp_path / "state"
    folder = _upload(state, "3f9c0a1b2d4e5f60")
    outside = tmp_path / "outside"
    (outside / "code").mkdir(parents=True)
    (outside / "code" / "precious.py").write_text("1")
    target = folder / link
    if target.is_dir():
        (target / "lib" / "util.py").unlink()
        (target / "lib").rmdir()
        target.rmdir()
    else:
        target.unlink()
    target.symlink_to(outside / "code")
    with pytest.raises(UnsafeUpload, match="is not a plain"):
        remove_upload(state, "3f9c0a1b2d4e5f60")
    assert (outside / "code" / "precious.py").read_text() == "1"
    assert sorted(p.name for p in folder.iterdir()) == ["code", "code.tar.gz"]  # the real one stays too


def test_a_link_deep_inside_the_unpacked_code_is_removed_not_followed(tmp_path):
    state = tmp_path / "state"
    folder = _upload(state, "3f9c0a1b2d4e5f60")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.py").write_text("1")
    (folder / "code" / "lib" / "escape").symlink_to(outside)
    assert remove_upload(state, "3f9c0a1b2d4e5f60") is True
    assert (outside / "precious.py").read_text() == "1"
    assert not (folder / "code").exists()
