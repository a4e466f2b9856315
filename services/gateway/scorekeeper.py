"""Scores succeeded test jobs outside the sandbox and stores the result; catches up after a restart.

A test job writes its outputs to /workspace/outputs; the executor that ran it makes them a local
folder (``Executor.collect_outputs``: the local run's work folder, or unpacked from a Kubernetes
pod's collector log into a temporary folder). The annotations are read from the dataset's
test/annotations, which no job sees.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from arenahub.gateway.competitionfile import load_stored_competition
from arenahub.gateway.competitionmodels import Score
from arenahub.gateway.competitionstore import (
    is_on_leaderboard,
    load_competition_for_dataset,
    load_score,
    load_unscored_test_jobs,
    save_score,
)
from arenahub.gateway.db import Database
from arenahub.gateway.executors.base import OutputsUnavailable, RunHandle, RunResult
from arenahub.gateway.models import Dataset, Job
from arenahub.gateway.signals import JobSignals
from arenahub.scoring import AnnotationsMissing, RunScores, ScoringError, score_test_run

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScoreTask:
    """What scoring one job needs, read from the database in one transaction."""

    job_id: str
    user: str
    code_sha256: str
    submitted_at: float
    competition_id: str
    competition_spec: dict[str, Any]
    annotations_dir: Path
    handle: RunHandle
    on_leaderboard: bool


class OutputsCollector(Protocol):
    """The part of an Executor the scorer needs: a finished run's outputs as a local folder."""

    async def collect_outputs(self, handle: RunHandle, dest: Path) -> Path:
        """See ``Executor.collect_outputs``; raises OutputsUnavailable."""
        ...


def load_score_task(session: Session, job_id: str) -> ScoreTask | None:
    """The task for ``job_id``, None when it needs no score (not a succeeded test job of a competition, or scored)."""
    job = session.get(Job, job_id)
    if job is None or job.kind != "test" or job.status != "succeeded" or job.run_handle is None:
        return None
    if load_score(session, job_id) is not None:
        return None
    competition = load_competition_for_dataset(session, job.dataset)
    dataset = session.get(Dataset, job.dataset) if job.dataset else None
    if competition is None or dataset is None:
        return None
    return ScoreTask(
        job_id=job.id, user=job.user, code_sha256=job.code_sha256, submitted_at=job.created_at,
        competition_id=competition.id, competition_spec=dict(competition.spec),
        annotations_dir=Path(dataset.path) / "test" / "annotations",
        handle=RunHandle.from_json(job.run_handle),
        # A re-run reproduces a score next to its original; it is never a leaderboard entry of its own.
        on_leaderboard=job.rerun_of is None and is_on_leaderboard(competition, job.created_at),
    )


def _per_sample(scores: RunScores) -> list[dict[str, Any]]:
    rows = []
    for split, report in (("public", scores.public), ("private", scores.private)):
        for result in report.per_sample if report is not None else []:
            rows.append({"sample_id": result.sample_id, "split": split, "score": result.score,
                         "reason": result.reason, "fields": result.fields})
    return rows


def _score_fields(task: ScoreTask, now: float) -> dict[str, Any]:
    return dict(job_id=task.job_id, competition_id=task.competition_id, user=task.user,
                code_sha256=task.code_sha256, submitted_at=task.submitted_at, scored_at=now,
                on_leaderboard=task.on_leaderboard)


def build_uncollected_score(task: ScoreTask, err: OutputsUnavailable, now: float) -> Score:
    """The Score of a run whose outputs could not be collected: status "error", the executor's
    participant-facing message, the operator's detail in ``per_sample`` (organisers only)."""
    return Score(**_score_fields(task, now), status="error", public_score=None, private_score=None,
                 public_metrics={}, private_metrics={},
                 per_sample=[{"error": err.log_detail or err.message, "reason": err.reason}], message=err.message)


def build_score(task: ScoreTask, outputs_dir: Path, now: float) -> Score:
    """Score the outputs in ``outputs_dir`` (file I/O, CPU-bound: run it in a worker thread) into a Score row.

    Problems of the organiser's making (unreadable annotations, a failing custom aggregate)
    give a Score with status "error": the participant is told to ask, the log says why.
    """
    base = _score_fields(task, now)
    spec, template = load_stored_competition(task.competition_spec)
    try:
        scores = score_test_run(template, task.annotations_dir, outputs_dir.parent,
                                public_fraction=spec.leaderboard.public_fraction, seed=spec.leaderboard.split_seed,
                                outputs_subdir=outputs_dir.name)
    except (AnnotationsMissing, ScoringError) as err:
        log.error("Scoring job %s for competition %s failed: %s", task.job_id, task.competition_id, err)
        return Score(**base, status="error", public_score=None, private_score=None, public_metrics={},
                     private_metrics={}, per_sample=[{"error": str(err)}],
                     message=f"Your run finished but could not be scored because of a problem on the "
                     f"organisers' side; they have been told. Quote job {task.job_id} when you ask.")
    public, private = scores.public, scores.private
    return Score(
        **base, status="scored",
        public_score=public.score if public else None,
        private_score=private.score if private else None,
        public_metrics=dict(public.metrics) if public else {},
        private_metrics=dict(private.metrics) if private else {},
        per_sample=_per_sample(scores),
        message=f"Scored {scores.samples} test samples.",
    )


class ScoreKeeper:
    """Scores each succeeded test job once, one job at a time, in a worker thread.

    ``executor``: the gateway's executor, which makes each run's outputs a local folder.
    """

    def __init__(self, db: Database, signals: JobSignals, executor: OutputsCollector,
                 clock: Callable[[], float] = time.time) -> None:
        self.db, self.signals, self.clock, self.executor = db, signals, clock, executor
        self._lock = asyncio.Lock()  # one scoring at a time: it is CPU-bound
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Score in the background whatever a previous gateway left unscored."""
        self._spawn(self.sweep(), "score-sweep")

    async def stop(self) -> None:
        """Cancel scoring in progress; the sweep at the next start picks the jobs up again."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def job_finished(self, job_id: str, result: RunResult) -> None:
        """The log pump's end-of-run hook: start scoring a succeeded job without waiting for it.

        Scoring collects the run's outputs first, so on Kubernetes this hook is what reads the
        collector's log while the finished pod still exists (until ttl_after_finished_s).
        """
        if result.status == "succeeded":
            self._spawn(self.score_job(job_id), f"score-{job_id}")

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def sweep(self) -> int:
        """Score every succeeded test job of a competition that has no score yet; returns how many."""
        done = 0
        while True:
            pending = await self.db.read(load_unscored_test_jobs)
            scored = [job_id for job_id in pending if await self.score_job(job_id)]
            done += len(scored)
            if not scored:
                return done

    async def score_job(self, job_id: str) -> bool:
        """Score ``job_id`` if it needs a score; True when a score was stored now."""
        async with self._lock:
            try:
                task = await self.db.read(load_score_task, job_id)
                if task is None:
                    return False
                with tempfile.TemporaryDirectory(prefix="arenahub-outputs-") as scratch:
                    score = await self._score(task, Path(scratch))
                saved = await self.db.write(save_score, score)
            except IntegrityError:
                return False  # another gateway stored it first
            except Exception:
                # A scoring bug must not stop the gateway; the job stays unscored and is retried.
                log.exception("Scoring job %s failed", job_id)
                return False
        if saved:
            log.info("Job %s scored for %s: public %s, private %s", job_id, task.competition_id,
                     score.public_score, score.private_score)
            self.signals.notify(job_id)
        return saved

    async def _score(self, task: ScoreTask, scratch: Path) -> Score:
        """Collect the task's outputs into ``scratch`` (if the executor needs a place) and score them."""
        try:
            outputs_dir = await self.executor.collect_outputs(task.handle, scratch)
        except OutputsUnavailable as err:
            log.warning("Outputs of job %s not collected (%s): %s", task.job_id, err.reason, err.log_detail)
            return build_uncollected_score(task, err, self.clock())
        return await anyio.to_thread.run_sync(build_score, task, outputs_dir, self.clock())
