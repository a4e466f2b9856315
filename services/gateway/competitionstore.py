"""Loading and saving competitions and scores, and finding the test jobs still waiting for a score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from arenahub.core.competition import CompetitionSpec
from arenahub.core.errors import Conflict, NotFound
from arenahub.gateway.audit import save_audit_event
from arenahub.gateway.competitionmodels import Competition, Score
from arenahub.gateway.models import Job


def save_new_competition(session: Session, competition: Competition) -> Competition:
    """Store a new competition; raises Conflict when the id is taken or an open one scores the same dataset."""
    if session.get(Competition, competition.id) is not None:
        raise Conflict(
            f"A competition called {competition.id!r} exists already; pick another id, or close it first "
            "and create the new one under a new id.",
            reason="competition-exists",
        )
    rival = session.scalars(
        select(Competition).where(Competition.dataset == competition.dataset, Competition.closed_at.is_(None))
    ).first()
    if rival is not None:
        raise Conflict(
            f"The open competition {rival.id!r} already scores test jobs on dataset {competition.dataset!r}; "
            "a test job must belong to one competition. Close it or use another dataset.",
            reason="competition-dataset-taken",
        )
    session.add(competition)
    session.flush()
    save_audit_event(session, kind="admin", actor=competition.created_by, subject=competition.id, now=competition.created_at,
                     message=f"created competition {competition.id}",
                     detail={"dataset": competition.dataset, "log_policy": competition.spec.get("log_policy")})
    return competition


def load_competitions(session: Session) -> Sequence[Competition]:
    """Every competition, newest first."""
    return session.scalars(select(Competition).order_by(Competition.created_at.desc(), Competition.id)).all()


def load_competition(session: Session, competition_id: str) -> Competition:
    """The competition ``competition_id``; raises NotFound listing the ids that exist."""
    competition = session.get(Competition, competition_id)
    if competition is None:
        known = ", ".join(c.id for c in load_competitions(session)) or "(none yet)"
        raise NotFound(f"No competition {competition_id!r}. Competitions: {known}.", reason="competition-not-found")
    return competition


def load_competition_for_dataset(session: Session, dataset: str | None) -> Competition | None:
    """The competition that scores test jobs on ``dataset``: the open one, else the newest closed one."""
    if dataset is None:
        return None
    found = session.scalars(
        select(Competition).where(Competition.dataset == dataset)
        .order_by(Competition.closed_at.is_not(None), Competition.created_at.desc())
    ).first()
    return found


def competition_log_policy(session: Session, dataset: str | None) -> str | dict[str, Any] | None:
    """The log policy of the competition a job on ``dataset`` belongs to (None: no competition)."""
    competition = load_competition_for_dataset(session, dataset)
    return None if competition is None else competition.spec.get("log_policy")


def close_competition(session: Session, competition_id: str, by: str, now: float) -> Competition:
    """Close it (the private leaderboard is revealed); raises Conflict when it is closed already."""
    competition = load_competition(session, competition_id)
    if competition.closed_at is not None:
        raise Conflict(f"Competition {competition_id!r} is closed already.", reason="competition-closed")
    competition.closed_at, competition.closed_by = now, by
    session.flush()
    save_audit_event(session, kind="admin", actor=by, subject=competition_id, now=now,
                     message=f"closed competition {competition_id}")
    return competition


def save_score(session: Session, score: Score) -> bool:
    """Store a job's score once; False (and nothing changes) when the job has one already."""
    if session.get(Score, score.job_id) is not None:
        return False
    session.add(score)
    session.flush()
    save_audit_event(session, kind="score", actor="gateway", subject=score.user, now=score.scored_at,
                     message=f"job {score.job_id} scored: {score.status} {score.public_score}",
                     detail={"job_id": score.job_id, "competition": score.competition_id, "status": score.status,
                             "public_score": score.public_score, "private_score": score.private_score,
                             "code_sha256": score.code_sha256})
    return True


def load_score(session: Session, job_id: str) -> Score | None:
    """The job's score, None while it has none."""
    return session.get(Score, job_id)


def load_scores(session: Session, competition_id: str) -> Sequence[Score]:
    """Every score of the competition, oldest submission first."""
    return session.scalars(
        select(Score).where(Score.competition_id == competition_id).order_by(Score.submitted_at, Score.job_id)
    ).all()


def load_unscored_test_jobs(session: Session, limit: int = 100) -> list[str]:
    """Ids of succeeded test jobs on a competition's dataset that have no score yet, oldest first."""
    scored = select(Score.job_id)
    rows = session.scalars(
        select(Job.id)
        .where(Job.kind == "test", Job.status == "succeeded", Job.id.not_in(scored),
               Job.dataset.in_(select(Competition.dataset)))
        .order_by(Job.finished_at)
        .limit(limit)
    ).all()
    return list(rows)


def competition_summary(competition: Competition, now: float) -> dict[str, Any]:
    """The competition as participants see it in lists: id, title, window, state, dataset."""
    window = competition.spec.get("window") or {}
    return {
        "id": competition.id,
        "title": competition.title,
        "dataset": competition.dataset,
        "opens_at": window.get("opens_at"),
        "closes_at": window.get("closes_at"),
        "state": competition_state(competition, now),
        "created_at": competition.created_at,
        "closed_at": competition.closed_at,
    }


def competition_state(competition: Competition, now: float) -> str:
    """upcoming, open, or closed (an admin closed it, or its window is over: private scores are revealed)."""
    if competition.closed_at is not None:
        return "closed"
    window = CompetitionSpec.model_validate(competition.spec).window
    if window.opens_ts is not None and now < window.opens_ts:
        return "upcoming"
    if window.closes_ts is not None and now >= window.closes_ts:
        return "closed"
    return "open"


def is_on_leaderboard(competition: Competition, submitted_at: float) -> bool:
    """Whether a job submitted at ``submitted_at`` counts: inside the window and before an early close."""
    window = CompetitionSpec.model_validate(competition.spec).window
    if window.opens_ts is not None and submitted_at < window.opens_ts:
        return False
    if window.closes_ts is not None and submitted_at >= window.closes_ts:
        return False
    return competition.closed_at is None or submitted_at < competition.closed_at
