"""The quota keeper: charges running jobs to the GPU ledger, stops jobs at budget, sends job and quota notices.

Exactly once across crashes: each job has a charge cursor that moves in the same transaction
as the ledger row it writes, and the row's unique key is derived from the cursor, so a
gateway killed at any point resumes from the committed cursor; no second is charged twice
and none is skipped (the time the gateway was down is charged on its first pass back).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from arenahub.gateway.audit import save_audit_event
from arenahub.gateway.db import Database
from arenahub.gateway.executors.base import Executor, RunHandle
from arenahub.gateway.jobstore import job_summary, load_jobs_with_status
from arenahub.gateway.models import FINAL_STATUSES, Job
from arenahub.gateway.notify import Notice, make_job_notice, make_low_quota_notice, send_notice
from arenahub.gateway.notifystore import claim_notice, load_destination
from arenahub.gateway.quota_settings import NotifySettings, QuotaSettings
from arenahub.gateway.quotastore import (
    QuotaScope, load_cursor, load_jobs_to_charge, load_open_notebook_ids, load_scope_for_dataset, load_scopes_for_dataset,
    load_usage, save_charge, settle_notebook,
)
from arenahub.quota.notebooks import NotebookRun, notebook_end, notebook_runs, server_fraction, split_source_id
from arenahub.quota import format_utc, gpu_left_s, gpu_period, is_low, make_charge, must_stop

log = logging.getLogger(__name__)


def build_stop_notice(scope: QuotaScope, resets_at: float | None) -> str:
    """The line a job stopped at budget shows in its log (and as its reason)."""
    config = scope.config
    period = "this week" if config.period == "week" else f"in the last {config.rolling_window_hours:g} hours"
    resets = f"; it resets {format_utc(resets_at)}" if resets_at is not None else ""
    return (f"stopped by the GPU quota: its user has used the {config.gpu_hours:g} GPU-hours allowed {period}"
            f"{resets}. Output up to now is kept.")


@dataclass
class QuotaKeeper:
    """Runs one charge pass every ``settings.charge_interval_s``; ``run_once`` is one pass (tests call it)."""

    settings: QuotaSettings
    notify_settings: NotifySettings
    db: Database
    executor: Executor
    clock: Callable[[], float]
    hub_api_url: str = ""  # where running notebooks are listed (GET /users?state=active)
    hub_api_token: str = ""
    _task: asyncio.Task[None] | None = None
    _stopping: set[str] = field(default_factory=set)
    _sending: set[asyncio.Task[object]] = field(default_factory=set)

    async def start(self) -> None:
        """Start the periodic charge loop."""
        self._task = asyncio.create_task(self._loop(), name="quota-keeper")

    async def stop(self) -> None:
        """Stop the loop after one last pass, so what ran until now is charged."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        try:
            await self.run_once()
        except SQLAlchemyError:
            log.exception("The last charge pass before stopping failed; the next gateway charges it")
        if self._sending:
            await asyncio.wait(self._sending, timeout=self.notify_settings.timeout_s)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # One failed pass must not end charging: the cursors make the next pass catch up.
                log.exception("Quota charge pass failed; retrying in %.1f s", self.settings.charge_interval_s)
            await asyncio.sleep(self.settings.charge_interval_s)

    async def run_once(self) -> None:
        """Charge every unsettled job up to now (or its end), then stop jobs at budget and send notices."""
        now = self.clock()
        notices: list[Notice] = []
        charged: set[tuple[str, str | None]] = set()  # (user, dataset) whose use grew this pass
        for job in await self.db.read(load_jobs_to_charge):
            ended_at = await self._run_ended_at(job)
            try:
                notice = await self.db.write(self._charge_job, job.id, now if ended_at is None else min(ended_at, now))
            except IntegrityError:
                log.info("Job %s was charged by another pass meanwhile; skipping it this time", job.id)
                continue
            charged.add((job.user, job.dataset))
            if notice is not None:
                notices.append(notice)
        await self._charge_notebooks(now)
        for job in await self.db.read(load_jobs_with_status, ["running"]):
            await self._stop_at_budget(job, now)
        for user, dataset in sorted(charged, key=str):
            notice = await self._low_quota_notice(user, dataset, now)
            if notice is not None:
                notices.append(notice)
        for notice in notices:
            self._send(notice)

    async def _run_ended_at(self, job: Job) -> float | None:
        # A run can end before the database says so (its result is stored by the log pump, and
        # after a restart only once the pump has re-attached): charge it only up to its real end.
        if job.status != "running" or job.run_handle is None:
            return None
        try:
            result = await self.executor.result(RunHandle.from_json(job.run_handle))
        except (OSError, ValueError):
            return None
        return None if result is None else result.finished_at

    def _charge_job(self, session: Session, job_id: str, now: float) -> Notice | None:
        job = session.get(Job, job_id)
        if job is None or job.started_at is None:
            return None
        final = job.status in FINAL_STATUSES
        until = max(job.finished_at if final and job.finished_at is not None else now, job.started_at)
        cursor = load_cursor(session, "job", job.id, job.started_at)
        if cursor.settled:
            return None
        scope = load_scope_for_dataset(session, job.dataset, self.settings)
        entry = make_charge(
            user=job.user, competition=scope.competition, source="job", source_id=job.id,
            gpu_fraction=float(len(job.gpus or [])), charged_until=cursor.charged_until, until=until,
        )
        save_charge(session, cursor, entry, settle=final)
        if final and claim_notice(session, f"job-end:{job.id}", now):
            return make_job_notice(job_summary(job))
        return None

    async def _charge_notebooks(self, now: float) -> None:
        # Running notebooks are charged from their start to each pass; one that stopped since is
        # charged from its last pass to the moment the hub stopped it, then settled (exactly once:
        # the cursor is in the database, so a restarted gateway settles what stopped meanwhile).
        if not self.hub_api_url or not (self.settings.notebook_profiles or self.settings.notebook_default_fraction):
            return
        async with httpx.AsyncClient(base_url=self.hub_api_url.rstrip("/") + "/", timeout=10,
                                     headers={"Authorization": f"token {self.hub_api_token}"}) as hub:
            users = await self._hub_get(hub, "users", {"state": "active"})
            if users is None:
                return
            runs = notebook_runs(users if isinstance(users, list) else users.get("items", []),
                                 self.settings.notebook_profiles, self.settings.notebook_default_fraction)
            for run in runs:
                def charge(session: Session, run: NotebookRun = run) -> None:
                    cursor = load_cursor(session, "notebook", run.source_id, run.started_at)
                    entry = make_charge(user=run.user, competition="", source="notebook", source_id=run.source_id,
                                        gpu_fraction=run.gpu_fraction, charged_until=cursor.charged_until, until=now)
                    save_charge(session, cursor, entry, settle=False)

                try:
                    await self.db.write(charge)
                except IntegrityError:
                    log.info("Notebook %s was charged by another pass meanwhile", run.source_id)
            running = {run.source_id for run in runs}
            for source_id in await self.db.read(load_open_notebook_ids):
                if source_id not in running:
                    await self._settle_notebook(hub, source_id, now)

    async def _settle_notebook(self, hub: httpx.AsyncClient, source_id: str, now: float) -> None:
        user = split_source_id(source_id)[0]
        model = await self._hub_get(hub, f"users/{quote(user, safe='')}", {"include_stopped_servers": "1"},
                                    missing_ok=True)
        if model is None:
            return  # the hub did not answer: try again next pass
        end = notebook_end(source_id, model or None)
        if end.state == "running":
            return
        if end.state == "unknown":
            log.warning("Notebook %s stopped at an unknown time (its server is gone or started again); its charge "
                        "ends at the last pass", source_id)
        stopped_at = None if end.stopped_at is None else min(end.stopped_at, now)
        fraction = server_fraction(end.server or {}, self.settings.notebook_profiles,
                                   self.settings.notebook_default_fraction)
        try:
            charged = await self.db.write(settle_notebook, source_id, user, stopped_at, fraction)
        except IntegrityError:
            log.info("Notebook %s was settled by another pass meanwhile", source_id)
            return
        log.info("Notebook %s stopped; charged its last %.1f GPU-seconds", source_id, charged)

    async def _hub_get(self, hub: httpx.AsyncClient, path: str, params: dict[str, str], *,
                       missing_ok: bool = False) -> Any:
        """The hub API's JSON reply; {} for a 404 when ``missing_ok``; None (logged) when the hub cannot answer."""
        try:
            reply = await hub.get(path, params=params)
            if missing_ok and reply.status_code == 404:
                return {}
            reply.raise_for_status()
            return reply.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("Cannot read %s from the hub (%s); notebooks are charged on a later pass", path, exc)
            return None

    async def _stop_at_budget(self, job: Job, now: float) -> None:
        # A competition job stops when either its competition's budget or the site's runs out.
        for scope in await self.db.read(load_scopes_for_dataset, job.dataset, self.settings):
            usage = await self.db.read(load_usage, job.user, scope, now)
            if must_stop(scope.config, usage) and job.id not in self._stopping and job.run_handle is not None:
                await self._stop(job, scope, usage.gpu_reset_at, now)
                return

    async def _low_quota_notice(self, user: str, dataset: str | None, now: float) -> Notice | None:
        # Once per user, competition and period: the key names the period it warns about.
        scope = await self.db.read(load_scope_for_dataset, dataset, self.settings)
        usage = await self.db.read(load_usage, user, scope, now)
        budget, left = scope.config.gpu_seconds, gpu_left_s(scope.config, usage)
        if budget is None or left is None or not is_low(scope.config, usage):
            return None
        period = gpu_period(scope.config, now)[0] if scope.config.period == "week" else now // 86400
        if not await self.db.write(claim_notice, f"low-quota:{user}:{scope.competition}:{period:.0f}", now):
            return None
        resets = f" (it resets {format_utc(usage.gpu_reset_at)})" if usage.gpu_reset_at else ""
        return make_low_quota_notice(user, left_gpu_s=left, budget_gpu_s=budget, resets=resets)

    async def _stop(self, job: Job, scope: QuotaScope, resets_at: float | None, now: float) -> None:
        self._stopping.add(job.id)
        reason = build_stop_notice(scope, resets_at)
        log.info("Stopping job %s of %s: GPU budget used up", job.id, job.user)
        await self.db.write(lambda s: save_audit_event(
            s, kind="quota-stop", actor="gateway", subject=job.user, now=now, message=reason,
            detail={"job_id": job.id, "competition": scope.competition},
        ))
        await self.executor.cancel(RunHandle.from_json(job.run_handle or ""), reason=reason)

    def _send(self, notice: Notice) -> None:
        async def send() -> None:
            destination = await self.db.read(load_destination, notice.user, self.notify_settings)
            await send_notice(self.notify_settings, destination, notice)

        task = asyncio.create_task(send(), name=f"notify-{notice.event}-{notice.user}")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)
