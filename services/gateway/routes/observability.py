"""Observability routes: Prometheus ``/metrics``, the admins' GPU view and a participant's own slice."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from arenahub.core.errors import NotAuthenticated, PermissionDenied, ServiceUnavailable
from arenahub.gateway.auth import token_from_header
from arenahub.gateway.deps import AdminDep, GatewayDep, PrincipalDep
from arenahub.gateway.gpumon import make_slice_status, no_gpu_message
from arenahub.gateway.gpumon_service import GpuSampler
from arenahub.gateway.observability import GatewayMetrics
from arenahub.core.metrics_roles import METRICS_SCOPE
from arenahub.gateway.observability_store import load_gateway_snapshot
from arenahub.core.gateway_roles import READ_ALL_SCOPE
from arenahub.gateway.schemas import ErrorOut

router = APIRouter(tags=["observability"], responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})


@dataclass
class Observability:
    """The metrics and GPU sampler of one gateway; ``create_app`` puts it on ``app.state.observability``."""

    metrics: GatewayMetrics
    sampler: GpuSampler | None = None
    scrape_tokens: dict[str, float] = field(default_factory=dict)  # token SHA-256 -> accepted until


def get_observability(request: Request) -> Observability:
    """The running gateway's metrics and sampler."""
    obs: Observability = request.app.state.observability
    return obs


ObservabilityDep = Annotated[Observability, Depends(get_observability)]


async def require_metrics_reader(
    gateway: GatewayDep, obs: ObservabilityDep, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Let through a hub token (a user's or a service's) holding the metrics or the read-all scope.

    Raises NotAuthenticated (401) without a token the hub accepts and PermissionDenied (403)
    without the scope. Accepted tokens are trusted for the hub-auth cache period.
    """
    token = token_from_header(authorization)
    if token is None:
        raise NotAuthenticated(
            "Metrics need a hub token: send 'Authorization: Bearer <token>' with a token that holds "
            f"the {METRICS_SCOPE} scope (the arenahub-metrics role).",
            reason="token-missing",
        )
    key = hashlib.sha256(token.encode()).hexdigest()
    now = time.monotonic()
    if obs.scrape_tokens.get(key, 0.0) > now:
        return
    hub = gateway.settings.hub
    try:
        reply = await gateway.hub_auth.client.get(f"{hub.api_url.rstrip('/')}/user",
                                                  headers={"Authorization": f"token {token}"})
    except httpx.HTTPError as exc:
        raise ServiceUnavailable("The gateway cannot reach JupyterHub to check the scrape token; try again.",
                                 reason="hub-unreachable", log_detail=str(exc)) from exc
    if reply.status_code in (401, 403, 404):
        raise NotAuthenticated("The hub does not accept this token (expired, revoked or mistyped).",
                               reason="token-invalid")
    scopes = set(reply.json().get("scopes") or ()) if reply.status_code == 200 else set()
    if not scopes & {METRICS_SCOPE, READ_ALL_SCOPE}:
        raise PermissionDenied(
            f"This token lacks the {METRICS_SCOPE} scope; give its user or service the arenahub-metrics role.",
            reason="scope-missing",
        )
    if len(obs.scrape_tokens) > 1000:
        obs.scrape_tokens.clear()
    obs.scrape_tokens[key] = now + hub.auth_cache_s


@router.get("/metrics", dependencies=[Depends(require_metrics_reader)], response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(gateway: GatewayDep, obs: ObservabilityDep) -> Response:
    """Prometheus text format: queue, jobs, waits, log lines, refusals, GPU-seconds charged and GPU usage."""
    obs.metrics.set_snapshot(await gateway.db.read(load_gateway_snapshot))
    if obs.sampler is not None:
        obs.metrics.set_gpu_view(obs.sampler.latest.view)
    return Response(generate_latest(obs.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/gpus")
async def all_gpus(_: AdminDep, obs: ObservabilityDep) -> dict[str, Any]:
    """Admins: every GPU's utilisation and memory, each server's and job's share, and processes nobody owns."""
    sample = obs.sampler.latest if obs.sampler is not None else None
    if sample is None or not sample.snapshot.has_gpus:
        snapshot = sample.snapshot if sample else None
        return {"gpus": [], "owners": [], "unattributed": [],
                "message": no_gpu_message(snapshot) if snapshot else "The GPU sampler is off in this gateway."}
    statuses = {o.key: make_slice_status(o, sample.usages, gpus=sample.snapshot.gpus) for o in sample.owners}
    return {
        "taken_at": sample.snapshot.taken_at,
        "gpus": [vars(g) for g in sample.snapshot.gpus],
        "owners": [{"kind": o.kind, "key": o.key, "user": o.user, "profile": o.profile,
                    "gpu_indices": list(o.gpu_indices), **_status_fields(statuses[o.key])} for o in sample.owners],
        "unattributed": [vars(p) for p in sample.strangers],
        "message": f"{len(sample.snapshot.gpus)} GPU(s), {len(sample.owners)} owner(s) holding GPUs.",
    }


@router.get("/gpus/mine")
async def my_gpus(principal: PrincipalDep, obs: ObservabilityDep) -> dict[str, Any]:
    """Your notebook slice and running jobs: busy share, memory used and limit, and one line to show.

    Example message: "your slice: 31 % busy, 5.2 / 8 GiB".
    """
    sample = obs.sampler.latest if obs.sampler is not None else None
    if sample is None or not sample.snapshot.has_gpus:
        message = no_gpu_message(sample.snapshot) if sample else "The GPU sampler is off in this gateway."
        return {"slices": [], "message": message}
    mine = [o for o in sample.owners if o.user == principal.name]
    statuses = [make_slice_status(o, sample.usages, gpus=sample.snapshot.gpus) for o in mine]
    return {
        "taken_at": sample.snapshot.taken_at,
        "slices": [{"kind": s.kind, "key": s.key, **_status_fields(s)} for s in statuses],
        "message": "; ".join(s.message for s in statuses) or "You hold no GPU right now.",
    }


def _status_fields(status: Any) -> dict[str, Any]:
    return {"gpu_fraction": status.gpu_fraction, "busy_ratio": status.busy_ratio,
            "mem_used_bytes": status.mem_used_bytes, "mem_limit_bytes": status.mem_limit_bytes,
            "message": status.message}
