"""Builds the gateway's FastAPI app: database, hub auth, executor, scheduler and routes (wiring only)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
import httpx
from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from arenahub.gateway.auth import HubAuth
from arenahub.gateway.competitioncreate import create_missing_competitions
from arenahub.gateway.db import Database, run_migrations
from arenahub.gateway.deps import Gateway
from arenahub.gateway.errors import install_error_handlers
from arenahub.gateway.executor_settings import make_executor
from arenahub.gateway.executors.base import Executor
from arenahub.gateway.logpump import PumpContext
from arenahub.gateway.observability_app import install_observability, start_gpu_sampler, stop_gpu_sampler
from arenahub.gateway.placement import get_policy
from arenahub.gateway.policies import make_policy_factory
from arenahub.gateway.routes import datasets, health, jobs, logs
from arenahub.gateway.routes import competitions, leaderboard
from arenahub.gateway.routes import audit, notifications, quota
from arenahub.gateway.quotakeeper import QuotaKeeper
from arenahub.gateway.retentionkeeper import RetentionKeeper
from arenahub.gateway.scheduler import Scheduler, SchedulerConfig, replace_policy_cap
from arenahub.gateway.scorekeeper import ScoreKeeper
from arenahub.gateway.settings import GatewaySettings
from arenahub.gateway.signals import JobSignals

log = logging.getLogger(__name__)


def _default_executor(settings: GatewaySettings) -> Executor:
    return make_executor(settings.executor, settings.state_dir)


def create_app(settings: GatewaySettings, *, executor: Executor | None = None) -> FastAPI:
    """The gateway app; on startup it migrates the database and re-attaches to running jobs.

    ``executor`` defaults to the bubblewrap LocalExecutor with runs under ``<state_dir>/runs``
    (it needs root; see arenahub.gateway.executors.local).
    """
    make_policy = make_policy_factory(settings.logs)  # an unusable log policy fails here, not per job
    policy = replace_policy_cap(get_policy(settings.scheduler.policy), settings.scheduler.per_user_gpu_cap)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        db = Database.from_url(settings.database_url, pool_size=settings.db.pool_size)
        await anyio.to_thread.run_sync(run_migrations, db.engine)
        if settings.competition_files:
            await db.write(create_missing_competitions, settings.competition_files, time.time())
        signals = JobSignals()
        ctx = PumpContext(executor=executor or _default_executor(settings), db=db, signals=signals,
                          metrics=app.state.observability.metrics)
        scorekeeper = ScoreKeeper(db, signals, ctx.executor)  # scores succeeded test jobs of competitions
        ctx.on_finished = scorekeeper.job_finished
        quotakeeper = QuotaKeeper(settings.quota, settings.notify, db, ctx.executor, ctx.clock,  # GPU ledger
                                  hub_api_url=settings.hub.api_url, hub_api_token=settings.hub.api_token)
        retentionkeeper = RetentionKeeper(settings.retention, db, settings.state_dir, ctx.clock)  # old uploads
        config = SchedulerConfig(
            nodes=settings.cluster.nodes,
            policy=policy,
            interval_s=settings.scheduler.interval_s,
            fair_share_window_s=settings.scheduler.fair_share_window_s,
            state_dir=settings.state_dir,
            run=settings.run,
        )
        scheduler = Scheduler(config, ctx, make_policy)
        async with httpx.AsyncClient(timeout=settings.hub.timeout_s) as client:
            hub_auth = HubAuth(settings.hub.api_url, cache_s=settings.hub.auth_cache_s, client=client)
            app.state.gateway = Gateway(settings, db, hub_auth, scheduler, signals)
            await start_gpu_sampler(app.state.observability, settings, db, client)
            await scheduler.start()
            await scorekeeper.start()
            await quotakeeper.start()
            await retentionkeeper.start()
            log.info("Gateway ready: database %s, nodes %s", db.engine.url.render_as_string(), dict(config.nodes))
            try:
                yield
            finally:
                await stop_gpu_sampler(app.state.observability)
                await retentionkeeper.stop()
                await quotakeeper.stop()
                await scorekeeper.stop()
                await scheduler.stop()
                await db.close()

    app = FastAPI(
        title="arenahub job gateway",
        summary="Submit sandboxed train and test jobs on whole GPUs; stream their filtered logs and metrics.",
        version="1",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for module in (jobs, logs, datasets, health):
        app.include_router(module.router)
    app.include_router(competitions.router)
    app.include_router(leaderboard.router)
    for module in (quota, audit, notifications):
        app.include_router(module.router)
    install_observability(app)  # /metrics, /gpus; counts refused requests
    app.add_middleware(ServicePrefix, prefix=settings.hub.service_prefix)
    return app


class ServicePrefix:
    """Serves the routes both at ``/jobs`` and under the hub's service prefix (``/services/<name>/jobs``).

    JupyterHub's proxy forwards the full path; marking the prefix as the ASGI ``root_path`` lets
    the router match the rest (the ASGI spec: ``path`` includes ``root_path``).
    """

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if self.prefix and scope["type"] in ("http", "websocket") and (
            path == self.prefix or path.startswith(self.prefix + "/")
        ):
            scope = {**scope, "root_path": scope.get("root_path", "") + self.prefix}
        await self.app(scope, receive, send)
