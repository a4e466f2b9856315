"""The ScoreKeeper asks the executor for a run's outputs: collected outputs are scored, uncollectable ones get a message."""

from pathlib import Path

import pytest

from arenahub.gateway.competitionstore import load_score
from arenahub.gateway.executors.base import OutputsUnavailable, RunHandle
from arenahub.gateway.models import Job
from arenahub.gateway.scorekeeper import ScoreKeeper
from arenahub.gateway.signals import JobSignals
from tests.unit.competitions.demodb import demo_database

pytestmark = pytest.mark.unit


class CopyingCollector:
    """Collects outputs like a remote executor: writes them into the caller's dest, or refuses."""

    def __init__(self, outputs: dict[str, str] | None, refusal: OutputsUnavailable | None = None) -> None:
        self.outputs, self.refusal = outputs or {}, refusal
        self.dests: list[Path] = []

    async def collect_outputs(self, handle: RunHandle, dest: Path) -> Path:
        self.dests.append(dest)
        if self.refusal is not None:
            raise self.refusal
        folder = dest / "outputs"
        folder.mkdir()
        for name, text in self.outputs.items():
            (folder / name).write_text(text)
        return folder


@pytest.fixture
def world(tmp_path):
    """A migrated database with the demo competition and one succeeded test job on a Kubernetes handle."""
    db, demo = demo_database(tmp_path)

    def seed(session):
        session.add(Job(
            id="k1", user="ada", kind="test", spec={}, code_sha256="c" * 64, code_bytes=1, dataset="demo-points",
            gpus_requested=1, status="succeeded", created_at=1.0, finished_at=2.0,
            run_handle=RunHandle("k1", "kube:arenahub-runs-demo/arenahub-run-k1", 0, 1.0).to_json(),
            log_offset=0, log_lines=0))

    db.run_sync(seed)
    yield db, demo
    db.dispose()


async def test_outputs_the_executor_collects_are_scored_and_its_scratch_folder_removed(world):
    db, demo = world
    truth = {p.name: p.read_text() for p in (demo.dataset_dir / "test" / "annotations").iterdir()}
    collector = CopyingCollector(truth)
    assert await ScoreKeeper(db, JobSignals(), collector).score_job("k1")
    score = await db.read(load_score, "k1")
    assert (score.status, score.public_score, score.private_score) == ("scored", 1.0, 1.0)
    assert len(collector.dests) == 1 and not collector.dests[0].exists()


async def test_outputs_that_cannot_be_collected_give_an_error_score_that_says_why(world):
    db, _ = world
    refusal = OutputsUnavailable("Your test run finished, but its outputs were not collected: too many files.",
                                 reason="outputs-too-large", log_detail="job k1: the outputs hold more than 3 files")
    assert await ScoreKeeper(db, JobSignals(), CopyingCollector(None, refusal)).score_job("k1")
    score = await db.read(load_score, "k1")
    assert (score.status, score.public_score) == ("error", None)
    assert score.message == refusal.message
    assert score.per_sample == [{"error": refusal.log_detail, "reason": "outputs-too-large"}]
