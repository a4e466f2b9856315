"""Competition routes: admins create and close competitions from their YAML; everyone lists and reads them."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from arenahub.core.errors import UnprocessableInput
from arenahub.core.yamlconf import ConfigError
from arenahub.gateway import competitioncreate
from arenahub.gateway.competitionfile import load_competition_text
from arenahub.gateway.competitionmodels import Competition
from arenahub.gateway.competitionstore import (
    close_competition,
    competition_summary,
    load_competition,
    load_competitions,
)
from arenahub.gateway.deps import AdminDep, GatewayDep, PrincipalDep
from arenahub.gateway.schemas import ErrorOut

router = APIRouter(tags=["competitions"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})

CompetitionId = Annotated[str, Path(max_length=63)]


class CompetitionIn(BaseModel):
    """A competition file to create a competition from."""

    source: str = Field(max_length=1_000_000, description="The competition YAML file's text.")
    filename: str = Field("competition.yaml", max_length=255, description="Shown in error messages.")


def competition_detail(competition: Competition, now: float, *, is_admin: bool) -> dict[str, Any]:
    """A competition's page: the summary and its rules; admins also get dataset paths and the YAML."""
    spec = dict(competition.spec)
    detail = competition_summary(competition, now)
    detail.update(
        description=spec.get("description", ""),
        datasets=[{"name": d["name"], "description": d.get("description", "")} for d in spec["datasets"]],
        quotas=spec.get("quotas", {}),
        leaderboard=spec.get("leaderboard", {}),
        evaluation=spec.get("evaluation", {}),
        log_policy=spec["log_policy"] if isinstance(spec["log_policy"], str) else spec["log_policy"].get("policy"),
        notifications={"events": (spec.get("notifications") or {}).get("events", [])},
    )
    if is_admin:
        detail.update(spec=spec, source_yaml=competition.source_yaml, created_by=competition.created_by,
                      closed_by=competition.closed_by)
    return detail


@router.post("/competitions", status_code=201,
             responses={400: {"model": ErrorOut}, 409: {"model": ErrorOut}, 422: {"model": ErrorOut}})
async def create_competition(body: CompetitionIn, gateway: GatewayDep, admin: AdminDep) -> dict[str, Any]:
    """Admins: create a competition from its YAML file (registering datasets that give a path)."""
    try:
        loaded = load_competition_text(body.source, body.filename)
    except ConfigError as err:
        raise UnprocessableInput(
            "The competition file has problems:\n" + "\n".join(err.problems), reason="competition-invalid"
        ) from None
    now = time.time()
    competition = await gateway.db.write(competitioncreate.create_competition, loaded, admin.name, now)
    return competition_detail(competition, now, is_admin=True)


@router.get("/competitions")
async def list_competitions(gateway: GatewayDep, principal: PrincipalDep) -> dict[str, Any]:
    """Every competition, newest first, with its window and state (upcoming, open, closed)."""
    now = time.time()
    competitions = await gateway.db.read(load_competitions)
    return {"competitions": [competition_summary(c, now) for c in competitions]}


@router.get("/competitions/{competition_id}", responses={404: {"model": ErrorOut}})
async def show_competition(competition_id: CompetitionId, gateway: GatewayDep,
                           principal: PrincipalDep) -> dict[str, Any]:
    """One competition's rules: window, datasets, quotas, evaluation template, leaderboard settings."""
    competition = await gateway.db.read(load_competition, competition_id)
    return competition_detail(competition, time.time(), is_admin=principal.can_read_all)


@router.post("/competitions/{competition_id}/close",
             responses={404: {"model": ErrorOut}, 409: {"model": ErrorOut}})
async def close(competition_id: CompetitionId, gateway: GatewayDep, admin: AdminDep) -> dict[str, Any]:
    """Admins: close a competition now; its private leaderboard is revealed."""
    now = time.time()
    competition = await gateway.db.write(close_competition, competition_id, admin.name, now)
    return competition_detail(competition, now, is_admin=True)
