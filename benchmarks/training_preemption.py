"""What-if for issue 10's training pool: the week of ``utilisation_week.py`` with checkpoint-and-requeue preemption.

Not a gateway feature: a simulation for the planners of what preemption would buy. Jobs are
placed every minute by ``arenahub.gateway.placement.make_plan`` exactly as in
``utilisation_week.simulate_training``; on top, a share of the jobs checkpoint every
``checkpoint_every_s`` of progress and may be stopped and requeued (``benchmarks.preemption_model``
picks whom: least work lost). A stopped job resumes from its last checkpoint after
``restart_cost_s``; the work since that checkpoint and the reload are lost (held, not busy).
Two rules, alone or together:

* backfill past the reservation: when the planner has promised a node to the first blocked job,
  checkpointing jobs that fit on that node's free GPUs start there even though their time limit
  runs past the promise; they are preempted as soon as the promised job would fit without them
  (at the promised time at the latest);
* preempt for whole-node jobs: a job asking for at least ``preemptor_min_gpus`` (default 8, a
  whole node) that has waited more than ``preempt_after_s`` in the queue (since its last
  requeue) and fits nowhere preempts checkpointing jobs on the node whose GPUs
  free up soonest, and starts there at once. Only jobs behind it in the fair-share order that
  have run at least ``min_run_s`` (default: one checkpoint interval plus the reload) may be
  preempted, as priority preemption does; without these guards jobs preempt each other in
  circles (``victims_behind_only``, ``min_run_s``).

Checkpoints themselves cost nothing here, and checkpointing jobs that are never preempted run
exactly as before.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from arenahub.gateway.backfill import Reservation
from arenahub.gateway.placement import Cluster, PlacementPolicy, make_plan
from benchmarks.preemption_model import (
    Checkpointing,
    PreemptibleRun,
    choose_victims,
    preemption_target,
    saved_progress_s,
)
from arenahub.gateway.queue import JobRequest, order_queue, queue_key


class _TrainJob(Protocol):
    job_id: str
    user: str
    gpus: int
    arrive_s: float
    duration_s: float
    limit_s: float


@dataclass(frozen=True)
class PreemptionWhatIf:
    """One what-if: who checkpoints and which preemption rules apply."""

    name: str
    checkpoint_share: float  # share of jobs that checkpoint (drawn per job with its own rng)
    backfill_past_reservation: bool = False
    preempt_after_s: float | None = None  # None: waiting jobs never preempt
    checkpoint_every_s: float = 600.0
    restart_cost_s: float = 60.0
    preemptor_min_gpus: int = 8  # only jobs asking for this many GPUs preempt (8: whole-node jobs)
    victims_behind_only: bool = True  # only jobs behind the waiting one in fair-share order are preempted
    min_run_s: float | None = None  # runs younger than this are spared; None: checkpoint_every_s + restart_cost_s

    @property
    def victim_min_run_s(self) -> float:
        """How long a run is spared from preemption for waiting jobs."""
        return self.checkpoint_every_s + self.restart_cost_s if self.min_run_s is None else self.min_run_s


@dataclass
class _JobState:
    job: _TrainJob
    checkpointing: Checkpointing | None
    work_left_s: float
    queued_since: float
    waited_s: float = 0.0
    started: bool = False
    preemptions: int = 0


@dataclass
class _Run:
    run: PreemptibleRun
    ends_at: float
    backfilled: bool  # started past a reservation; preempted when it comes due


def simulate_training_whatif(
    jobs: Sequence[_TrainJob], policy: PlacementPolicy, nodes: dict[str, int], whatif: PreemptionWhatIf | None,
    *, seed: int, step_s: int, week_s: int, duty: float,
) -> dict[str, float]:
    """The training week under ``policy`` and ``whatif`` (None: no preemption, as ``simulate_training``).

    Returns allocation and busy shares (lost work is held but not busy), waits (a job's time in the
    queue, requeues included), preemptions and lost GPU-hours.
    """
    rng = random.Random(seed)
    cp = None if whatif is None else Checkpointing(whatif.checkpoint_every_s, whatif.restart_cost_s)
    states = {
        j.job_id: _JobState(j, cp if whatif is not None and rng.random() < whatif.checkpoint_share else None,
                            j.duration_s, j.arrive_s)
        for j in jobs
    }
    capacity = sum(nodes.values())
    steps = week_s // step_s
    wasted = [0.0] * (steps + 1)  # GPUs held for lost work, per step
    cluster = Cluster.from_sizes(nodes)
    pending = list(reversed(jobs))
    queue: dict[str, _JobState] = {}
    running: dict[str, _Run] = {}
    usage: dict[str, float] = {}
    held_steps: list[int] = []
    contended: list[bool] = []
    reservation: Reservation | None = None
    preemptions, lost_gpu_s = 0, 0.0

    def waste(start: float, end: float, gpus: int) -> None:
        for k in range(int(start // step_s), min(steps, math.ceil(end / step_s))):
            wasted[k] += gpus

    def start(state: _JobState, node: str, now: float, ends_by: float | None, backfilled: bool = False) -> None:
        nonlocal cluster
        job = state.job
        resumed = state.work_left_s < job.duration_s
        if ends_by is None:
            ends_by = now + limit_of(state)
        cluster = cluster.allocate(job.job_id, job.user, node, cluster.free_indices(node)[: job.gpus], ends_by)
        run_s = state.work_left_s + (whatif.restart_cost_s if resumed and whatif else 0.0)
        running[job.job_id] = _Run(PreemptibleRun(job.job_id, node, job.gpus, now, state.checkpointing, resumed),
                                   now + run_s, backfilled)
        state.waited_s += now - state.queued_since
        state.started = True
        usage[job.user] = usage.get(job.user, 0.0) + job.gpus * run_s
        del queue[job.job_id]

    def limit_of(state: _JobState) -> float:
        # The sandbox's limit for this run: the declared limit less the work already saved, plus a reload.
        job = state.job
        if state.work_left_s >= job.duration_s:
            return job.limit_s
        return job.limit_s - (job.duration_s - state.work_left_s) + (whatif.restart_cost_s if whatif else 0.0)

    def preempt(job_id: str, now: float) -> None:
        nonlocal cluster, preemptions, lost_gpu_s
        r = running.pop(job_id)
        state = states[job_id]
        saved = saved_progress_s(r.run, now)
        reload_s = r.run.checkpointing.restart_cost_s if r.run.resumed and r.run.checkpointing else 0.0
        waste(r.run.started_at, min(now, r.run.started_at + reload_s), r.run.gpus)
        waste(r.run.started_at + reload_s + saved, now, r.run.gpus)
        lost_gpu_s += r.run.gpus * (now - r.run.started_at - saved)
        usage[state.job.user] -= r.run.gpus * (r.ends_at - now)
        state.work_left_s -= saved
        state.queued_since = now
        state.preemptions += 1
        preemptions += 1
        cluster = cluster.release(job_id)
        queue[job_id] = state

    def run_request(run: PreemptibleRun) -> JobRequest:
        job = states[run.job_id].job
        return JobRequest(job.job_id, job.user, job.gpus, submitted_at=job.arrive_s)

    def requests() -> list[JobRequest]:
        return [JobRequest(s.job.job_id, s.job.user, s.job.gpus, submitted_at=s.job.arrive_s,
                           time_limit_s=limit_of(s) or None) for s in queue.values()]

    for now in range(0, week_s, step_s):
        for job_id, r in list(running.items()):
            if r.ends_at <= now:
                cluster = cluster.release(job_id)
                del running[job_id]
                if r.run.resumed and whatif is not None:
                    waste(r.run.started_at, r.run.started_at + whatif.restart_cost_s, r.run.gpus)
                    lost_gpu_s += r.run.gpus * whatif.restart_cost_s
        while pending and pending[-1].arrive_s <= now:
            job = pending.pop()
            queue[job.job_id] = states[job.job_id]
        if whatif is not None and whatif.backfill_past_reservation and reservation is not None \
                and reservation.job_id in queue:
            # The promised job would fit once the jobs that backfilled past its promise are gone: now it is due.
            backfilled = [r.run for r in running.values() if r.backfilled and r.run.node == reservation.node]
            free = cluster.free_count(reservation.node)
            if free < reservation.gpus <= free + sum(r.gpus for r in backfilled):
                for victim in choose_victims(backfilled, reservation.node, free, reservation.gpus, now) or ():
                    preempt(victim, now)
                start(queue[reservation.job_id], reservation.node, now, None)
        if whatif is not None and whatif.preempt_after_s is not None and queue:
            most_free = max(cluster.free_count(n.name) for n in cluster.nodes)
            for req in order_queue(requests(), usage):
                state = queue[req.job_id]
                if (now - state.queued_since <= whatif.preempt_after_s or req.gpus <= most_free
                        or req.gpus < whatif.preemptor_min_gpus):
                    continue
                mine = queue_key(req, usage)
                victims = [r.run for r in running.values()
                           if not whatif.victims_behind_only or queue_key(run_request(r.run), usage) > mine]
                target = preemption_target(cluster, victims, req.gpus, now, whatif.victim_min_run_s)
                if target is None:
                    continue
                for victim in target[1]:
                    preempt(victim, now)
                start(state, target[0], now, None)
                most_free = max(cluster.free_count(n.name) for n in cluster.nodes)
        reservation = None
        if queue:
            plan = make_plan(requests(), cluster, usage, policy, float(now))
            for a in plan.assignments:
                start(queue[a.job_id], a.node, now, None)
            reservation = plan.reservation
            if whatif is not None and whatif.backfill_past_reservation and reservation is not None \
                    and math.isfinite(reservation.start_by):
                for req in order_queue(requests(), usage):
                    state = queue[req.job_id]
                    if (state.checkpointing is not None and req.job_id != reservation.job_id
                            and cluster.free_count(reservation.node) >= req.gpus):
                        # Planned to be gone when the promise comes due: preempted then if still running.
                        start(state, reservation.node, now, reservation.start_by, backfilled=True)
        held_steps.append(cluster.used_gpus)
        contended.append(bool(queue))

    held = sum(held_steps) * step_s
    lost = sum(wasted[:steps]) * step_s
    contended_s = sum(contended) * step_s
    contended_held = sum(h for h, c in zip(held_steps, contended) if c) * step_s
    contended_lost = sum(w for w, c in zip(wasted, contended) if c) * step_s
    waits = sorted(s.waited_s for s in states.values() if s.started)
    done = [s for s in states.values() if s.started and s.job.job_id not in queue and s.job.job_id not in running]
    preempted = [s.preemptions for s in states.values() if s.preemptions]
    return {
        "allocation": held / (capacity * week_s),
        "busy_of_capacity": duty * (held - lost) / (capacity * week_s),
        "contended_h": contended_s / 3600,
        "contended_allocation": contended_held / (capacity * contended_s) if contended_s else 0.0,
        "contended_busy_of_capacity": duty * (contended_held - contended_lost) / (capacity * contended_s)
        if contended_s else 0.0,
        "jobs": len(jobs), "started": len(waits), "finished": len(done),
        "wait_p50_min": waits[len(waits) // 2] / 60 if waits else 0.0,
        "wait_p95_min": waits[int(len(waits) * 0.95)] / 60 if waits else 0.0,
        "preemptions": preemptions, "jobs_preempted": len(preempted), "most_preemptions": max(preempted, default=0),
        "lost_gpu_h": lost_gpu_s / 3600,
        "checkpointing_jobs": sum(s.checkpointing is not None for s in states.values()),
    }
