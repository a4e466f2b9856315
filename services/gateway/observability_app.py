"""Wires metrics and the GPU sampler into the gateway app: state, the refusal counter, routes, start and stop."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request
from starlette.responses import Response

from arenahub.core.errors import ArenaError, QuotaExceeded
from arenahub.gateway.db import Database
from arenahub.gateway.gpumon_service import GpuSampler, HubAccess
from arenahub.gateway.observability import GatewayMetrics
from arenahub.gateway.routes import observability as routes
from arenahub.gateway.settings import GatewaySettings


def install_observability(app: FastAPI) -> routes.Observability:
    """Give ``app`` its metrics (``app.state.observability``), count refused requests, add the routes.

    Call it after ``install_error_handlers``: the refusal counter wraps the ArenaError handler.
    """
    obs = routes.Observability(metrics=GatewayMetrics())
    app.state.observability = obs
    reply_with = app.exception_handlers[ArenaError]

    async def counted(request: Request, exc: Exception) -> Response:
        if isinstance(exc, ArenaError):
            obs.metrics.request_refused(status=exc.status, reason=exc.reason, is_quota=isinstance(exc, QuotaExceeded))
        return await reply_with(request, exc)

    app.add_exception_handler(ArenaError, counted)
    app.include_router(routes.router)
    return obs


async def start_gpu_sampler(
    obs: routes.Observability, settings: GatewaySettings, db: Database, client: httpx.AsyncClient
) -> None:
    """Start the GPU sampler when the settings enable it (without a GPU it reports none and says why)."""
    if not settings.gpu_sampler.enabled:
        return
    hub = HubAccess(settings.hub.api_url, settings.hub.api_token, client)
    obs.sampler = GpuSampler(db=db, hub=hub, state_dir=settings.state_dir, interval_s=settings.gpu_sampler.interval_s)
    await obs.sampler.start()


async def stop_gpu_sampler(obs: routes.Observability) -> None:
    """Stop the sampler if it runs."""
    if obs.sampler is not None:
        await obs.sampler.stop()
