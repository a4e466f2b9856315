"""Preemption planning: which checkpointing jobs to stop so a waiting job gets its GPUs, and what that costs (pure).

A job that saves a checkpoint every ``every_s`` seconds of progress can be stopped and requeued:
it resumes from its last checkpoint, after ``restart_cost_s`` spent reloading. What it did since
that checkpoint, and the reload itself, is lost work. Planning picks, on one node, the set of
such jobs whose stopping frees enough GPUs while losing the fewest GPU-seconds of work. Nothing
here stops a job; the caller does, and requeues it less the ``saved_progress_s`` of its run.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from arenahub.gateway.placement import Cluster, PlacementError


@dataclass(frozen=True)
class Checkpointing:
    """How a job saves its progress: every ``every_s`` seconds of work, reloading costs ``restart_cost_s``."""

    every_s: float
    restart_cost_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.every_s > 0:
            raise PlacementError(f"Checkpoint interval {self.every_s!r} s: use more than 0 seconds.")
        if self.restart_cost_s < 0:
            raise PlacementError(f"Restart cost {self.restart_cost_s!r} s: use 0 or more seconds.")


@dataclass(frozen=True)
class PreemptibleRun:
    """One run of a job holding ``gpus`` GPUs of ``node`` since ``started_at``.

    ``resumed``: the run restarted from a checkpoint, so its first ``restart_cost_s`` make no
    progress. ``checkpointing`` None: the job saves nothing and is never preempted.
    """

    job_id: str
    node: str
    gpus: int
    started_at: float
    checkpointing: Checkpointing | None
    resumed: bool = False


def saved_progress_s(run: PreemptibleRun, now: float) -> float:
    """Seconds of work this run has checkpointed by ``now``: whole intervals after the reload.

    0 for a job that does not checkpoint. Raises PlacementError when ``now`` is before the start.
    """
    if now < run.started_at:
        raise PlacementError(f"Run of job {run.job_id} starts at {run.started_at}, after {now}.")
    cp = run.checkpointing
    if cp is None:
        return 0.0
    working = now - run.started_at - (cp.restart_cost_s if run.resumed else 0.0)
    return math.floor(working / cp.every_s) * cp.every_s if working > 0 else 0.0


def lost_work_s(run: PreemptibleRun, now: float) -> float:
    """Seconds of this run that preempting it at ``now`` throws away (reload and work since the last checkpoint)."""
    return (now - run.started_at) - saved_progress_s(run, now)


def choose_victims(
    runs: Sequence[PreemptibleRun], node: str, free_gpus: int, needed_gpus: int, now: float,
    min_run_s: float = 0.0,
) -> tuple[str, ...] | None:
    """The checkpointing runs on ``node`` to preempt so that ``needed_gpus`` are free there.

    ``free_gpus``: GPUs of the node free now. ``min_run_s``: runs younger than this are spared
    (with at least one checkpoint interval plus the reload, every run saves progress before it
    can be stopped, so jobs cannot preempt each other forever). Returns () when enough GPUs are
    free already, the job ids of the set losing the fewest GPU-seconds of work (then the fewest
    runs, then job ids) otherwise, and None when even preempting every such run is not enough.
    """
    if free_gpus >= needed_gpus:
        return ()
    candidates = sorted((r for r in runs if r.node == node and r.checkpointing is not None
                         and now - r.started_at >= min_run_s), key=lambda r: r.job_id)
    if free_gpus + sum(r.gpus for r in candidates) < needed_gpus:
        return None
    best: tuple[float, int, tuple[str, ...]] | None = None
    for size in range(1, len(candidates) + 1):
        for group in itertools.combinations(candidates, size):
            if free_gpus + sum(r.gpus for r in group) < needed_gpus:
                continue
            key = (sum(r.gpus * lost_work_s(r, now) for r in group), size, tuple(r.job_id for r in group))
            if best is None or key < best:
                best = key
    return None if best is None else best[2]


def frees_at(cluster: Cluster, node: str, gpus: int, now: float) -> float:
    """When ``gpus`` GPUs of ``node`` are free at the latest, from running jobs' time limits.

    ``now`` where they are free already; math.inf where a job there declares no limit or the
    node is smaller than ``gpus``.
    """
    size, free = cluster.node(node).gpus, cluster.free_count(node)
    if size < gpus:
        return math.inf
    if free >= gpus:
        return now
    ends = sorted(math.inf if a.ends_by is None else a.ends_by
                  for a in cluster.allocations if a.node == node for _ in a.gpu_indices)
    return max(now, ends[gpus - free - 1])


def preemption_target(
    cluster: Cluster, runs: Sequence[PreemptibleRun], gpus: int, now: float, min_run_s: float = 0.0
) -> tuple[str, tuple[str, ...]] | None:
    """Where a waiting ``gpus``-GPU job should preempt, and whom: (node, job ids to preempt).

    Nodes are tried in the order their GPUs free up by time limits (``frees_at``; then most
    free now, then listed first), and the first where ``choose_victims`` finds a set wins, so
    the job takes the node it would have had soonest anyway. ``runs``: the runs that may be
    preempted (the caller leaves out those it protects); ``min_run_s`` as for ``choose_victims``.
    None when no node can make room.
    """
    order = sorted(
        (frees_at(cluster, n.name, gpus, now), -cluster.free_count(n.name), position, n.name)
        for position, n in enumerate(cluster.nodes) if n.gpus >= gpus
    )
    for _, _, _, name in order:
        victims = choose_victims(runs, name, cluster.free_count(name), gpus, now, min_run_s)
        if victims is not None:
            return name, victims
    return None
