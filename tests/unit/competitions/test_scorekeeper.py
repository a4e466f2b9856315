"""The ScoreKeeper on a real SQLite gateway database: scores once, catches up, counts the window, reports organiser errors."""

import json

import pytest

from arenahub.gateway.competitionmodels import Competition
from arenahub.gateway.competitionstore import load_score, load_unscored_test_jobs, save_new_competition
from arenahub.gateway.executors.base import RunHandle
from arenahub.gateway.executors.local import run_outputs_dir
from arenahub.gateway.models import Job
from arenahub.gateway.scorekeeper import ScoreKeeper
from arenahub.gateway.signals import JobSignals
from arenahub.core.errors import Conflict
from tests.unit.competitions.demodb import demo_database

pytestmark = pytest.mark.unit

WINDOW = "window:\n  opens_at: 2026-01-01T00:00:00Z\n  closes_at: 2026-02-01T00:00:00Z\n"
JAN_15, MAR_1 = 1768435200.0, 1772323200.0


class RunFolders:
    """The local executor's way of giving a run's outputs: its run folder's work/outputs."""

    async def collect_outputs(self, handle: RunHandle, dest) -> object:
        return run_outputs_dir(handle)


@pytest.fixture
def world(tmp_path):
    """A migrated database with the demo dataset and competition (a January window)."""
    db, demo = demo_database(tmp_path, WINDOW)
    yield db, demo, tmp_path
    db.dispose()


def add_job(db, tmp_path, job_id, *, created_at=JAN_15, kind="test", status="succeeded", outputs=None):
    run_dir = tmp_path / "runs" / job_id
    (run_dir / "work" / "outputs").mkdir(parents=True)
    for name, content in (outputs or {}).items():
        (run_dir / "work" / "outputs" / name).write_text(content)
    handle = RunHandle(job_id, str(run_dir), 1, created_at).to_json()
    db.run_sync(lambda s: s.add(Job(
        id=job_id, user="ada", kind=kind, spec={}, code_sha256="c" * 64, code_bytes=1, dataset="demo-points",
        gpus_requested=0, status=status, created_at=created_at, finished_at=created_at + 1, run_handle=handle,
        log_offset=0, log_lines=0)))


def answers(demo):
    folder = demo.dataset_dir / "test" / "annotations"
    return {p.name: p.read_text() for p in folder.iterdir()}


async def test_the_sweep_scores_each_succeeded_test_job_once(world):
    db, demo, tmp_path = world
    add_job(db, tmp_path, "perfect", outputs=answers(demo))
    add_job(db, tmp_path, "empty")
    add_job(db, tmp_path, "training", kind="train")
    add_job(db, tmp_path, "failed", status="failed")
    keeper = ScoreKeeper(db, JobSignals(), RunFolders(), clock=lambda: 5.0)
    assert sorted(await db.read(load_unscored_test_jobs)) == ["empty", "perfect"]
    assert await keeper.sweep() == 2
    assert await keeper.sweep() == 0
    perfect = await db.read(load_score, "perfect")
    assert (perfect.status, perfect.public_score, perfect.private_score) == ("scored", 1.0, 1.0)
    assert perfect.on_leaderboard and perfect.scored_at == 5.0
    assert {s["split"] for s in perfect.per_sample} == {"public", "private"}
    empty = await db.read(load_score, "empty")
    assert empty.public_score == 0.0 and "no output file" in empty.per_sample[0]["reason"]


async def test_a_job_submitted_after_the_window_is_scored_but_not_on_the_leaderboard(world):
    db, demo, tmp_path = world
    add_job(db, tmp_path, "late", created_at=MAR_1, outputs=answers(demo))
    assert await ScoreKeeper(db, JobSignals(), RunFolders()).score_job("late")
    assert not (await db.read(load_score, "late")).on_leaderboard


async def test_missing_annotations_give_an_error_score_that_blames_no_participant(world):
    db, demo, tmp_path = world
    add_job(db, tmp_path, "j1", outputs=answers(demo))
    for path in (demo.dataset_dir / "test" / "annotations").iterdir():
        path.unlink()
    (demo.dataset_dir / "test" / "annotations").rmdir()
    assert await ScoreKeeper(db, JobSignals(), RunFolders()).score_job("j1")
    score = await db.read(load_score, "j1")
    assert score.status == "error" and score.public_score is None
    assert "problem on the organisers' side" in score.message and "j1" in score.message
    assert "Cannot read the annotations" in json.dumps(score.per_sample)


def test_a_second_open_competition_on_the_same_dataset_is_refused(world):
    db, demo, _ = world
    copy = Competition(id="demo-2", title="Again", spec={}, source_yaml="", dataset="demo-points",
                       created_by="o", created_at=1.0, closed_at=None, closed_by=None)
    with pytest.raises(Conflict, match="already scores test jobs on dataset 'demo-points'"):
        db.run_sync(save_new_competition, copy)
