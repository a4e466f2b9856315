"""Backfill by time limits: when and where a waiting job is promised GPUs, and who may start before it (pure).

Every job declares a time limit and the sandbox kills it then, so ``start + time limit`` bounds
when its GPUs come back. The first job that fits nowhere is promised the node where enough GPUs
free up soonest; a later job may start before it only if it ends by its own limit before that
time or fits in the GPUs the promised job leaves over (EASY backfill, Lifka 1995). Time limits
are upper bounds, never estimates: a job that ends early only makes the promise come sooner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from arenahub.gateway.queue import JobRequest

if TYPE_CHECKING:  # placement imports this module; Cluster is only needed for the hints
    from arenahub.gateway.placement import Cluster


@dataclass(frozen=True)
class Reservation:
    """GPUs promised to a waiting job: ``gpus`` of ``node`` from ``start_by`` at the latest.

    ``start_by`` is when the jobs running there reach their time limits (math.inf when one of
    them declares none); ``spare_gpus`` is how many of that node's GPUs the job leaves over then,
    which jobs running past ``start_by`` may still take.
    """

    job_id: str
    node: str
    gpus: int
    start_by: float
    spare_gpus: int


def earliest_start(cluster: Cluster, gpus: int, now: float) -> tuple[float, str] | None:
    """When and where a ``gpus``-GPU job can start at the latest, from running jobs' time limits.

    Returns (time, node): ``now`` where the job fits already, else the time the jobs running on
    a node have ended by their limits for enough GPUs to be free there (math.inf where one of
    them declares no limit); the soonest node wins, then the one with most GPUs free now, then
    the node listed first. None when no node has ``gpus`` GPUs at all.
    """
    best: tuple[float, int, int, str] | None = None
    for position, node in enumerate(cluster.nodes):
        if node.gpus < gpus:
            continue
        free = cluster.free_count(node.name)
        at = now
        if free < gpus:
            ends = sorted(
                math.inf if a.ends_by is None else a.ends_by
                for a in cluster.allocations for _ in a.gpu_indices if a.node == node.name
            )
            at = max(now, ends[gpus - free - 1])  # one entry per held GPU, earliest ending first
        candidate = (at, -free, position, node.name)
        if best is None or candidate < best:
            best = candidate
    return None if best is None else (best[0], best[3])


def reserve(cluster: Cluster, job: JobRequest, now: float) -> Reservation | None:
    """The reservation for ``job`` at ``earliest_start``; None when no node is big enough."""
    found = earliest_start(cluster, job.gpus, now)
    if found is None:
        return None
    start_by, node = found
    spare = cluster.free_at(node, start_by) - job.gpus if math.isfinite(start_by) else 0
    return Reservation(job.job_id, node, job.gpus, start_by, spare)


def fits_beside(reservation: Reservation, job: JobRequest, now: float) -> tuple[bool, bool]:
    """(may start on the reserved node, takes spare GPUs there) for ``job`` starting ``now``.

    It may when its time limit ends by ``start_by`` (spare GPUs untouched), or when it asks for
    no more than the spare GPUs. Where ``start_by`` is unknown (math.inf) nothing may: the node
    is drained.
    """
    if not math.isfinite(reservation.start_by):
        return False, False  # nothing is known to end there: drain the node
    if job.time_limit_s is not None and now + job.time_limit_s <= reservation.start_by:
        return True, False  # gone before the reserved job starts
    return job.gpus <= reservation.spare_gpus, True


def reserved_reason(reservation: Reservation, now: float) -> str:
    """What the reserved job's participant reads: where and by when it starts."""
    if not math.isfinite(reservation.start_by):
        return (f"Node {reservation.node} is reserved for this job and takes no new jobs "
                "(the jobs running there declare no time limit).")
    return (f"Node {reservation.node} is reserved for this job: it starts there within "
            f"{in_words(reservation.start_by - now)} at the latest, when the jobs running there "
            "reach their time limits.")


def held_back_reason(reservation: Reservation, gpus: int, now: float) -> str:
    """Why a ``gpus``-GPU job that would fit on the reserved node's free GPUs waits."""
    if not math.isfinite(reservation.start_by):
        return (f"Waiting: node {reservation.node} is reserved for job {reservation.job_id}; "
                f"no other node has {gpus} free GPUs.")
    return (f"Waiting: the free GPUs of node {reservation.node} are held for job {reservation.job_id}, "
            f"which starts there within {in_words(reservation.start_by - now)}; this job's time limit "
            f"runs past that, and no other node has {gpus} free GPUs.")


def in_words(seconds: float) -> str:
    """A wait for a participant to read: "1 min" at least, "35 min", "2 h 05 min"."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"
