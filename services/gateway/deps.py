"""FastAPI dependencies: the gateway's parts, the calling user, and the one job-visibility check."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Path, Request

from arenahub.core.errors import NotAuthenticated, NotFound, PermissionDenied
from arenahub.gateway.auth import HubAuth, Principal, token_from_header
from arenahub.gateway.db import Database
from arenahub.gateway.jobstore import load_job
from arenahub.gateway.models import Job
from arenahub.core.gateway_roles import READ_ALL_SCOPE, SUBMIT_SCOPE
from arenahub.gateway.scheduler import Scheduler
from arenahub.gateway.settings import GatewaySettings
from arenahub.gateway.signals import JobSignals


@dataclass
class Gateway:
    """The parts routes use; ``create_app`` puts one on ``app.state.gateway``."""

    settings: GatewaySettings
    db: Database
    hub_auth: HubAuth
    scheduler: Scheduler
    signals: JobSignals


def get_gateway(request: Request) -> Gateway:
    """The running gateway's parts."""
    gateway: Gateway = request.app.state.gateway
    return gateway


GatewayDep = Annotated[Gateway, Depends(get_gateway)]


async def get_principal(
    gateway: GatewayDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """The hub user behind the request's token; raises NotAuthenticated (401) without a valid one.

    A token must carry the submit or the read-all scope to use the gateway at all (403).
    """
    token = token_from_header(authorization)
    if token is None:
        raise NotAuthenticated(
            "This request has no hub token. Send 'Authorization: token <your JupyterHub API token>'.",
            reason="token-missing",
        )
    principal = await gateway.hub_auth.fetch_principal(token)
    if not (principal.can_submit or principal.can_read_all):
        raise PermissionDenied(
            f"Your token lacks the scope {SUBMIT_SCOPE} needed to use the job gateway; ask an admin to "
            "grant it, or use the token of your notebook server.",
            reason="scope-missing",
        )
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_admin(principal: PrincipalDep) -> Principal:
    """The caller, if they hold the read-all scope; raises PermissionDenied (403) otherwise."""
    if not principal.can_read_all:
        raise PermissionDenied(
            f"This needs the {READ_ALL_SCOPE} scope, which organisers and admins hold.",
            reason="admin-only",
        )
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


async def get_visible_job(
    gateway: GatewayDep, principal: PrincipalDep, job_id: Annotated[str, Path(max_length=64)]
) -> Job:
    """The job ``job_id`` if the caller may see it: their own, or anyone's for admins.

    Another user's job answers 404 exactly like a missing one, so job ids reveal nothing.
    """
    try:
        job = await gateway.db.read(load_job, job_id)
    except NotFound:
        job = None
    if job is None or not principal.may_see(job.user):
        raise NotFound(f"No job {job_id!r} of yours. List your jobs with GET /jobs.", reason="job-not-found")
    return job


VisibleJobDep = Annotated[Job, Depends(get_visible_job)]
