"""The gateway's competition tables: registered competitions and the score of every test job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from arenahub.gateway.models import Base

SCORE_STATUSES = ("scored", "error")


class Competition(Base):
    """A competition created from its YAML file; ``spec`` is the checked CompetitionSpec as JSON."""

    __tablename__ = "competitions"

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_yaml: Mapped[str] = mapped_column(Text)
    dataset: Mapped[str] = mapped_column(String(255), index=True)  # the dataset test jobs are scored on
    created_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[float] = mapped_column(Float)
    closed_at: Mapped[float | None] = mapped_column(Float)
    closed_by: Mapped[str | None] = mapped_column(String(255))


class Score(Base):
    """The score of one succeeded test job: public and private aggregates, per-sample reasons (admins).

    ``on_leaderboard`` is False for a job submitted outside the competition's window: its owner
    still sees the score, the leaderboard does not count it.
    """

    __tablename__ = "scores"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    competition_id: Mapped[str] = mapped_column(ForeignKey("competitions.id", ondelete="CASCADE"))
    user: Mapped[str] = mapped_column(String(255))
    code_sha256: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[float] = mapped_column(Float)
    scored_at: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    on_leaderboard: Mapped[bool] = mapped_column(Boolean)
    public_score: Mapped[float | None] = mapped_column(Float)
    private_score: Mapped[float | None] = mapped_column(Float)
    public_metrics: Mapped[dict[str, float]] = mapped_column(JSON)
    private_metrics: Mapped[dict[str, float]] = mapped_column(JSON)
    per_sample: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_scores_competition_user", "competition_id", "user"),)
