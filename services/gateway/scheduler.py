"""The scheduler loop: places queued jobs on whole GPUs, starts them, follows them, re-attaches after a restart."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from arenahub.core.errors import InvalidInput

from arenahub.gateway.competitionstore import (
    competition_log_policy,
    load_competition_for_dataset,
    load_competitions,
)
from arenahub.gateway.datasetstore import load_dataset_for_job
from arenahub.gateway.executors.base import RunHandle, RunSpec
from arenahub.gateway.jobstore import (
    load_jobs_with_status,
    load_recent_usage,
    mark_started,
    save_result,
    save_run_handle,
    save_waiting_reason,
)
from arenahub.gateway.loggate import LogGate, LogPolicyFactory
from arenahub.gateway.logpump import PumpContext, pump_run
from arenahub.gateway.models import Job
from arenahub.gateway.placement import Allocation, Cluster, Node, PlacementPolicy, make_plan
from arenahub.gateway.queue import JobRequest
from arenahub.gateway.runspecs import build_run_spec, code_dir_of
from arenahub.gateway.settings import RunSettings
from arenahub.gateway.specs import JobSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SchedulerConfig:
    """What the scheduler needs from the settings."""

    nodes: Mapping[str, int]
    policy: PlacementPolicy
    interval_s: float
    fair_share_window_s: float
    state_dir: Path
    run: RunSettings


def build_cluster(nodes: Mapping[str, int], running: list[Job]) -> Cluster:
    """The pool with the GPUs running jobs hold; jobs on nodes no longer configured are left out."""
    sizes = dict(nodes)
    allocations = []
    for job in running:
        gpus = tuple(job.gpus or ())
        if not gpus:
            continue
        if job.node not in sizes or any(not 0 <= i < sizes[job.node] for i in gpus):
            log.warning("Job %s holds GPUs %s of node %s, which the settings no longer list", job.id, gpus, job.node)
            continue
        limit = time_limit_of(job)
        ends_by = None if limit is None or job.started_at is None else job.started_at + limit
        allocations.append(Allocation(job.id, job.user, job.node, gpus, ends_by))
    return Cluster(tuple(Node(name, count) for name, count in sizes.items()), tuple(allocations))


@dataclass(frozen=True)
class FoundRuns:
    """The executor's runs sorted against the database: runs to adopt and runs nobody owns."""

    adopt: tuple[RunHandle, ...]  # runs of jobs claimed (running) without a recorded handle
    strays: tuple[RunHandle, ...]  # runs whose job is unknown or not running


def sort_found_runs(found: list[RunHandle], running: Mapping[str, str | None]) -> FoundRuns:
    """Sort the executor's runs by the running jobs (job id -> stored handle JSON, None when missing).

    A run of a job that has a handle is the one already followed and is in neither list; a second
    run found for a job being adopted is a stray.
    """
    adopt: dict[str, RunHandle] = {}
    strays = []
    for handle in found:
        if handle.job_id not in running:
            strays.append(handle)
        elif running[handle.job_id] is None:
            if handle.job_id in adopt:
                strays.append(handle)
            else:
                adopt[handle.job_id] = handle
    return FoundRuns(tuple(adopt.values()), tuple(strays))


def time_limit_of(job: Job) -> float | None:
    """The job's wall-clock limit in seconds from its checked spec (backfill plans with it), or None."""
    limit = (job.spec or {}).get("time_limit_s")
    return float(limit) if limit else None


class Scheduler:
    """Runs the queue: one pass per wake-up or ``interval_s``, one log pump per running job."""

    def __init__(self, config: SchedulerConfig, ctx: PumpContext, make_policy: LogPolicyFactory) -> None:
        self.config = config
        self.ctx = ctx
        self.make_policy = make_policy
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        self._pumps: dict[str, asyncio.Task[object]] = {}
        self._cancels_sent: set[str] = set()

    async def start(self) -> None:
        """Adopt runs a previous gateway started without recording, stop strays, re-attach, then loop."""
        await self.adopt_unrecorded_runs()
        await self.reattach()
        self._loop_task = asyncio.create_task(self._loop(), name="scheduler")

    async def stop(self) -> None:
        """Stop the loop and the pumps; the runs themselves keep going and are re-attached later."""
        tasks = [t for t in (self._loop_task, *self._pumps.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pumps.clear()

    def wake(self) -> None:
        """Ask for a queue pass now (a job was submitted, cancelled or finished)."""
        self._wake.set()

    @property
    def followed_jobs(self) -> frozenset[str]:
        """Ids of the jobs whose runs this gateway follows right now."""
        return frozenset(self._pumps)

    async def reattach(self) -> None:
        """Follow every job the database says is running but nobody follows, from its committed offset."""
        await self._reattach(list(await self.ctx.db.read(load_jobs_with_status, ["running"])))

    async def adopt_unrecorded_runs(self) -> None:
        """Match the executor's runs to the database (before ``reattach``, with no start under way).

        A job claimed but without a run handle (the previous gateway died between starting its
        run and saving the handle) gets the run found for it, followed from log offset 0 and
        charged from the claim on like any re-attached run; runs whose job the database does not
        know or no longer runs are cancelled. When the executor cannot list its runs, nothing
        is adopted: those jobs are then marked lost by ``reattach``.
        """
        running = list(await self.ctx.db.read(load_jobs_with_status, ["running"]))
        competitions = [c.id for c in await self.ctx.db.read(load_competitions)]
        try:
            found = await self.ctx.executor.find_runs(competitions)
        except Exception:
            log.exception("Could not list the executor's runs: jobs caught while starting will be marked lost "
                          "and runs no job owns are left running; stop those by hand")
            return
        sorted_runs = sort_found_runs(found, {job.id: job.run_handle for job in running})
        for handle in sorted_runs.adopt:
            await self.ctx.db.write(save_run_handle, handle.job_id, handle.to_json())
            log.warning("Adopted run %s of job %s: the previous gateway stopped before recording it",
                        handle.run_dir, handle.job_id)
        for handle in sorted_runs.strays:
            try:
                await self._stop_stray(handle)
            except Exception:  # one run the executor cannot stop must not keep the gateway down
                log.exception("Could not stop the orphan run %s of job %s; stop it by hand", handle.run_dir,
                              handle.job_id)

    async def _stop_stray(self, handle: RunHandle) -> None:
        if await self.ctx.executor.result(handle) is not None:
            return  # it has ended: nothing to stop, no GPUs held
        log.warning("Stopping run %s: its job %s is unknown to the database or not running, so nobody "
                    "follows it", handle.run_dir, handle.job_id)
        await self.ctx.executor.cancel(handle, (
            f"Stopped by the gateway: job {handle.job_id} is not running in its database (unknown, or "
            "finished while this run went on), so this run was an orphan."))

    async def run_once(self) -> None:
        """One pass: re-attach unfollowed runs, send pending cancels, place queued jobs, start what fits."""
        running = list(await self.ctx.db.read(load_jobs_with_status, ["running"]))
        await self._reattach(running)
        await self._send_cancels(running)
        queued = list(await self.ctx.db.read(load_jobs_with_status, ["queued"]))
        if not queued:
            return
        now = self.ctx.clock()
        usage = await self.ctx.db.read(
            lambda s: load_recent_usage(s, since=now - self.config.fair_share_window_s, now=now)
        )
        requests = [JobRequest(j.id, j.user, j.gpus_requested, submitted_at=j.created_at,
                               time_limit_s=time_limit_of(j)) for j in queued]
        plan = make_plan(requests, build_cluster(self.config.nodes, running), usage, self.config.policy, now)
        await self.ctx.db.write(save_waiting_reason, {w.job_id: w.reason for w in plan.waiting})
        submitted = {j.id: j.created_at for j in queued}
        for assignment in plan.assignments:
            self.ctx.metrics.job_started(wait_s=now - submitted[assignment.job_id], gpus=len(assignment.gpu_indices))
            await self._start(assignment.job_id, assignment.node, list(assignment.gpu_indices))

    async def _reattach(self, running: list[Job]) -> None:
        # Runs only from the loop (or before it starts), never during a _start, so a running job
        # without a handle really is one a previous gateway died while starting.
        for job in running:
            if job.id in self._pumps:
                continue
            if job.run_handle is None:
                await self.ctx.db.write(
                    lambda s, job_id=job.id: save_result(
                        s, job_id, status="lost", exit_code=None, finished_at=self.ctx.clock(),
                        reason="The gateway stopped while starting this job, before its run was recorded; "
                        "submit it again.",
                    )
                )
                self.ctx.signals.notify(job.id)
                continue
            log.info("Following job %s from log offset %d (%d lines stored)", job.id, job.log_offset, job.log_lines)
            await self._follow(job.id, job.dataset, RunHandle.from_json(job.run_handle), job.log_offset,
                               job.log_lines)

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception:
                # One bad pass (a database outage, a broken job) must not stop scheduling for everyone.
                log.exception("Scheduler pass failed; retrying in %.1f s", self.config.interval_s)
            try:
                await asyncio.wait_for(self._wake.wait(), self.config.interval_s)
            except TimeoutError:
                pass
            self._wake.clear()

    async def _send_cancels(self, running: list[Job]) -> None:
        for job in running:
            if job.cancel_requested_at is None or job.run_handle is None or job.id in self._cancels_sent:
                continue
            self._cancels_sent.add(job.id)
            log.info("Cancelling job %s at its user's request", job.id)
            await self.ctx.executor.cancel(RunHandle.from_json(job.run_handle))

    async def _start(self, job_id: str, node: str | None, gpus: list[int]) -> None:
        now = self.ctx.clock()
        spec = await self.ctx.db.write(self._claim, job_id, node, gpus, now)
        if spec is None:
            self.ctx.signals.notify(job_id)
            return
        try:
            handle = await self.ctx.executor.start(spec)
        except Exception as exc:
            log.exception("Starting job %s failed", job_id)
            reason = f"The sandbox could not start this job ({exc}). Tell the organisers, quoting job {job_id}."
            await self.ctx.db.write(
                lambda s: save_result(
                    s, job_id, status="failed", exit_code=None, finished_at=self.ctx.clock(), reason=reason,
                )
            )
            self.ctx.signals.notify(job_id)
            return
        await self.ctx.db.write(save_run_handle, job_id, handle.to_json())
        log.info("Started job %s on node %s GPUs %s", job_id, node, gpus)
        dataset = await self.ctx.db.read(lambda s: s.get(Job, job_id).dataset)
        await self._follow(job_id, dataset, handle, 0, 0)

    def _claim(self, session: Session, job_id: str, node: str | None, gpus: list[int], now: float) -> RunSpec | None:
        # One transaction: the job moves to running and we read what its RunSpec needs.
        job = mark_started(session, job_id, node=node, gpus=gpus, now=now)
        if job is None:
            return None
        dataset_path = None
        if job.dataset:
            try:
                dataset_path = Path(load_dataset_for_job(session, job.dataset).path)
            except InvalidInput as exc:
                save_result(session, job_id, status="failed", exit_code=None, reason=exc.message, finished_at=now)
                return None
        return build_run_spec(
            job_id=job.id, user=job.user, spec=JobSpec.model_validate(job.spec),
            code_dir=code_dir_of(self.config.state_dir, job.id), gpus=gpus, dataset_path=dataset_path,
            run=self.config.run, competition=getattr(load_competition_for_dataset(session, job.dataset), "id", None),
        )

    async def _follow(self, job_id: str, dataset: str | None, handle: RunHandle, offset: int,
                      stored_lines: int) -> None:
        rules = await self.ctx.db.read(competition_log_policy, dataset)  # the competition's, if any
        gate = LogGate(self.make_policy() if rules is None else self.make_policy(rules), next_seq=stored_lines)
        task = asyncio.create_task(pump_run(self.ctx, job_id, handle, offset, gate), name=f"pump-{job_id}")
        self._pumps[job_id] = task
        task.add_done_callback(lambda t, job_id=job_id: self._pump_done(job_id, t))

    def _pump_done(self, job_id: str, task: asyncio.Task[object]) -> None:
        self._pumps.pop(job_id, None)
        self._cancels_sent.discard(job_id)
        if not task.cancelled() and task.exception() is not None:
            log.error("Following job %s failed: %r", job_id, task.exception())
        self.wake()  # its GPUs are free now


def replace_policy_cap(policy: PlacementPolicy, per_user_gpu_cap: int) -> PlacementPolicy:
    """The policy with the settings' per-user GPU cap (0 means no cap)."""
    return replace(policy, max_gpus_per_user=per_user_gpu_cap or None)
