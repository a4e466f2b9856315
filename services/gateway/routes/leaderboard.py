"""Leaderboard and score routes: ranked participants, a job's score, and per-sample reasons for admins."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from arenahub.core.competition import CompetitionSpec
from arenahub.core.errors import NotFound
from arenahub.gateway.competitionmodels import Competition, Score
from arenahub.gateway.competitionstore import (
    competition_state,
    load_competition,
    load_competition_for_dataset,
    load_competitions,
    load_score,
    load_scores,
)
from arenahub.gateway.deps import AdminDep, GatewayDep, PrincipalDep, VisibleJobDep
from arenahub.gateway.models import Job
from arenahub.gateway.schemas import ErrorOut
from arenahub.scoring import Entry, build_rows

router = APIRouter(tags=["leaderboard"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


def _default_competition(session: Session, competition_id: str | None) -> Competition:
    if competition_id:
        return load_competition(session, competition_id)
    competitions = load_competitions(session)
    if not competitions:
        raise NotFound("There are no competitions yet; an admin creates one with "
                       "`arenahub competition create FILE`.", reason="competition-not-found")
    open_ones = [c for c in competitions if c.closed_at is None]
    return (open_ones or list(competitions))[0]


def _board(session: Session, competition_id: str | None, now: float) -> dict[str, Any]:
    competition = _default_competition(session, competition_id)
    spec = CompetitionSpec.model_validate(competition.spec)
    is_closed = competition_state(competition, now) == "closed"
    entries = [
        Entry(user=s.user, job_id=s.job_id, submitted_at=s.submitted_at, code_sha256=s.code_sha256,
              public_score=s.public_score, private_score=s.private_score, public_metrics=s.public_metrics,
              private_metrics=s.private_metrics, is_error=s.status != "scored")
        for s in load_scores(session, competition.id) if s.on_leaderboard
    ]
    board = spec.leaderboard
    return {
        "competition": competition.id,
        "title": competition.title,
        "state": competition_state(competition, now),
        "split": "private" if is_closed and board.public_fraction < 1 else "public",
        "sort": board.sort,
        "columns": board.columns,
        "rows": build_rows(entries, is_closed=is_closed, descending=board.is_descending, columns=board.columns),
    }


@router.get("/leaderboard", responses={404: {"model": ErrorOut}})
async def leaderboard(
    gateway: GatewayDep,
    principal: PrincipalDep,
    competition: Annotated[str | None, Query(max_length=63, description="Competition id; default: the open one.")] = None,
) -> dict[str, Any]:
    """The leaderboard of ``competition`` (default: the newest open competition)."""
    return await gateway.db.read(_board, competition, time.time())


@router.get("/competitions/{competition_id}/leaderboard", responses={404: {"model": ErrorOut}})
async def competition_leaderboard(
    competition_id: Annotated[str, Path(max_length=63)], gateway: GatewayDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Ranked participants: each one's best public submission; the private scores once closed."""
    return await gateway.db.read(_board, competition_id, time.time())


def _score_view(session: Session, job: Job, is_admin: bool, now: float) -> dict[str, Any]:
    score: Score | None = load_score(session, job.id)
    competition = load_competition_for_dataset(session, job.dataset) if job.kind == "test" else None
    view: dict[str, Any] = {"job_id": job.id, "competition": competition.id if competition else None,
                            "code_sha256": job.code_sha256}
    if competition is None:
        return {**view, "status": "not-scored",
                "message": "Only test jobs on a competition's dataset are scored."}
    if score is None:
        pending = job.status in ("queued", "running", "succeeded")
        return {**view, "status": "pending" if pending else "not-scored",
                "message": "The score appears when the test job has succeeded and been scored." if pending
                else f"The job ended {job.status}; only succeeded test jobs are scored."}
    is_closed = competition_state(competition, now) == "closed"
    view.update(status=score.status, message=score.message, on_leaderboard=score.on_leaderboard,
                score=score.public_score, metrics=score.public_metrics, scored_at=score.scored_at)
    if is_closed or is_admin:
        view.update(private_score=score.private_score, private_metrics=score.private_metrics)
    return view


@router.get("/jobs/{job_id}/score", responses={404: {"model": ErrorOut}})
async def job_score(job: VisibleJobDep, gateway: GatewayDep, principal: PrincipalDep) -> dict[str, Any]:
    """A test job's score: the public aggregate for its owner (private too once the competition closed)."""
    return await gateway.db.read(_score_view, job, principal.can_read_all, time.time())


@router.get("/jobs/{job_id}/score/samples", responses={404: {"model": ErrorOut}})
async def job_score_samples(job: VisibleJobDep, gateway: GatewayDep, admin: AdminDep) -> dict[str, Any]:
    """Admins: every sample's score and reason (participants never see these: they describe hidden data)."""
    score = await gateway.db.read(load_score, job.id)
    if score is None:
        raise NotFound(f"Job {job.id} has no score yet.", reason="score-not-found")
    return {"job_id": job.id, "competition": score.competition_id, "samples": score.per_sample}
