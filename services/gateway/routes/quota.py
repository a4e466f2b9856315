"""Quota routes: the caller's GPU-hours, submissions and reset times (the widget's quota panel), and the spawn check."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from arenahub.core.errors import NotFound
from arenahub.gateway.competitionmodels import Competition
from arenahub.gateway.deps import GatewayDep, PrincipalDep
from arenahub.gateway.quota_settings import QuotaSettings
from arenahub.gateway.quotacheck import check_spawn_quota
from arenahub.gateway.quotastore import QuotaScope, make_competition_scope, load_usage, site_scope
from arenahub.gateway.schemas import ErrorOut
from arenahub.quota import decide_window, gpu_left_s, iso_utc

router = APIRouter(tags=["quota"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


class QuotaOut(BaseModel):
    """A user's quota in one competition (or the site default), as the widget's quota panel shows it."""

    user: str
    competition: str = Field(description="Competition id; empty for the site-wide default limits.")
    period: str = Field(description="week (Monday 00:00 UTC to Monday) or rolling.")
    gpu_hours_limit: float | None = Field(description="GPU-hours per period; null means unlimited.")
    gpu_hours_used: float
    gpu_hours_left: float | None
    resets_at: str | None = Field(description="When the GPU budget frees up (ISO 8601 UTC); null when nothing is used up or unknown.")
    max_run_hours: float | None
    max_concurrent_gpus: int | None
    gpus_active: int
    submissions_per_day: int | None
    submissions_today: int
    submissions_left_today: int | None
    submissions_total_limit: int | None
    submissions_total: int
    is_open: bool = Field(description="True while the competition window accepts submissions.")
    window_message: str = Field(description="Why submissions are refused now; empty while open.")


class SpawnCheckOut(BaseModel):
    """The answer of the pre-spawn check when the spawn may go ahead."""

    allowed: bool


def _pick_scope(session: Session, settings: QuotaSettings, competition: str | None, now: float) -> QuotaScope:
    if competition == "":
        return site_scope(settings)
    rows = list(session.scalars(select(Competition).order_by(Competition.created_at.desc())))
    if competition is not None:
        for row in rows:
            if row.id == competition:
                return make_competition_scope(row)
        names = ", ".join(r.id for r in rows) or "none yet"
        raise NotFound(f"No competition {competition!r}. Competitions: {names}.", reason="competition-not-found")
    for row in rows:  # the newest competition still open, else the site default
        scope = make_competition_scope(row)
        if scope.window.closes_ts is None or now < scope.window.closes_ts:
            return scope
    return site_scope(settings)


@router.get("/quota", response_model=QuotaOut)
async def show_quota(
    gateway: GatewayDep,
    principal: PrincipalDep,
    competition: Annotated[str | None, Query(description="Competition id; empty string: the site default; "
                                                         "absent: the newest open competition.")] = None,
    user: Annotated[str | None, Query(description="Admins: another user's quota.")] = None,
) -> QuotaOut:
    """Your GPU-hours used and left, submissions left today, and when they reset."""
    now = time.time()
    who = user if (user and principal.can_read_all) else principal.name

    def load(session: Session) -> QuotaOut:
        scope = _pick_scope(session, gateway.settings.quota, competition, now)
        usage = load_usage(session, who, scope, now)
        config, window = scope.config, decide_window(scope.window, now)
        left = gpu_left_s(config, usage)
        per_day = config.submissions_per_day
        return QuotaOut(
            user=who, competition=scope.competition, period=config.period,
            gpu_hours_limit=config.gpu_hours, gpu_hours_used=round(usage.gpu_seconds / 3600, 6),
            gpu_hours_left=None if left is None else round(left / 3600, 6),
            resets_at=iso_utc(usage.gpu_reset_at) if config.gpu_hours is not None else None,
            max_run_hours=config.max_run_hours, max_concurrent_gpus=config.max_concurrent_gpus,
            gpus_active=usage.gpus_active, submissions_per_day=per_day, submissions_today=usage.submissions_today,
            submissions_left_today=None if per_day is None else max(per_day - usage.submissions_today, 0),
            submissions_total_limit=config.submissions_total, submissions_total=usage.submissions_total,
            is_open=window.allowed, window_message=window.message,
        )

    return await gateway.db.read(load)


@router.get("/quota/spawn-check", response_model=SpawnCheckOut, responses={429: {"model": ErrorOut}})
async def check_spawn(
    gateway: GatewayDep,
    principal: PrincipalDep,
    gpu_fraction: Annotated[float, Query(ge=0, le=64, description="GPUs the notebook would hold (0.25 for a quarter slice).")],
) -> SpawnCheckOut:
    """May the caller start a notebook on ``gpu_fraction`` of a GPU? 429 with the reason and reset time if not.

    The hub's pre-spawn hook asks this with the new server's own token.
    """
    await check_spawn_quota(gateway.db, gateway.settings.quota, principal.name, gpu_fraction, time.time())
    return SpawnCheckOut(allowed=True)
