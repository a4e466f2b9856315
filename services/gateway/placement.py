"""Whole-GPU placement: which queued jobs start now, on which node and GPUs (pure, no I/O).

A job asking for N GPUs gets N GPUs of ONE node or keeps waiting: there is no partial start
and no job spans nodes. ``binpack`` puts a job on the fullest node that fits, which keeps whole
nodes free for big jobs (seed 004: Volcano's binpack); ``fifo-spread`` is the stock baseline that
takes jobs strictly in submission order and puts each on the emptiest node.

Backfill uses the time limit every job declares (the sandbox kills it then): the first job that
fits nowhere gets a reservation on the node where enough GPUs free up soonest, at the time the
jobs running there reach their limits; a later job may start before it only if it fits now and
either ends by its own limit before that time or leaves the reserved GPUs alone (EASY backfill).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Literal

from arenahub.gateway.backfill import Reservation, fits_beside, held_back_reason, reserve, reserved_reason
from arenahub.gateway.queue import JobRequest, QueueOrder, order_queue

Fit = Literal["binpack", "spread"]
FITS: tuple[Fit, ...] = ("binpack", "spread")
ReservationKind = Literal["time-limit", "drain"]
RESERVATION_KINDS: tuple[ReservationKind, ...] = ("time-limit", "drain")


class PlacementError(ValueError):
    """A cluster change or plan input that cannot be applied (the message says why)."""


@dataclass(frozen=True, order=True)
class Gpu:
    """One whole GPU: its node and its index on that node (the CUDA device number there)."""

    node: str
    index: int


@dataclass(frozen=True)
class Node:
    """A machine of the training pool with ``gpus`` whole GPUs, numbered 0..gpus-1."""

    name: str
    gpus: int

    def __post_init__(self) -> None:
        if not self.name:
            raise PlacementError("A node needs a non-empty name.")
        if isinstance(self.gpus, bool) or not isinstance(self.gpus, int) or self.gpus < 0:
            raise PlacementError(f"Node {self.name} has {self.gpus!r} GPUs; use a whole number >= 0.")


@dataclass(frozen=True)
class Allocation:
    """The GPUs a running job holds; ``ends_by``: when its time limit kills it (None: unknown)."""

    job_id: str
    user: str
    node: str
    gpu_indices: tuple[int, ...]
    ends_by: float | None = None


@dataclass(frozen=True)
class Cluster:
    """Immutable state of the training pool: its nodes and which running job holds which GPU.

    ``allocate`` and ``release`` return a new state; the old one is unchanged. Only jobs that hold
    at least one GPU are recorded: CPU-only jobs take nothing from the pool.
    """

    nodes: tuple[Node, ...]
    allocations: tuple[Allocation, ...] = ()

    def __post_init__(self) -> None:
        names = [node.name for node in self.nodes]
        if len(set(names)) != len(names):
            raise PlacementError(f"Node names must be unique; got {', '.join(names)}.")
        holders: dict[Gpu, str] = {}
        job_ids: set[str] = set()
        sizes = {node.name: node.gpus for node in self.nodes}
        for alloc in self.allocations:
            if alloc.job_id in job_ids:
                raise PlacementError(f"Job {alloc.job_id} holds GPUs twice; release it first.")
            job_ids.add(alloc.job_id)
            if alloc.node not in sizes:
                raise PlacementError(
                    f"Job {alloc.job_id} is on unknown node {alloc.node!r}. "
                    f"Nodes: {', '.join(names) or '(none)'}."
                )
            if not alloc.gpu_indices or len(set(alloc.gpu_indices)) != len(alloc.gpu_indices):
                raise PlacementError(f"Job {alloc.job_id} must hold distinct GPUs, at least one.")
            for index in alloc.gpu_indices:
                if not 0 <= index < sizes[alloc.node]:
                    raise PlacementError(
                        f"Job {alloc.job_id} asks for GPU {index} of node {alloc.node}, "
                        f"which has GPUs 0..{sizes[alloc.node] - 1}."
                    )
                gpu = Gpu(alloc.node, index)
                if gpu in holders:
                    raise PlacementError(
                        f"GPU {index} of node {alloc.node} is already held by job {holders[gpu]}; "
                        f"job {alloc.job_id} cannot take it."
                    )
                holders[gpu] = alloc.job_id

    @classmethod
    def from_sizes(cls, sizes: Mapping[str, int]) -> Cluster:
        """An empty cluster from ``{"node1": 4, ...}`` (node name to number of GPUs)."""
        return cls(nodes=tuple(Node(name, gpus) for name, gpus in sizes.items()))

    @cached_property
    def _used(self) -> dict[str, frozenset[int]]:
        used: dict[str, set[int]] = {node.name: set() for node in self.nodes}
        for alloc in self.allocations:
            used[alloc.node].update(alloc.gpu_indices)
        return {name: frozenset(indices) for name, indices in used.items()}

    def node(self, name: str) -> Node:
        """The node called ``name``; raises PlacementError listing the nodes when unknown."""
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes) or "(none)"
        raise PlacementError(f"No node {name!r}. Nodes: {known}.")

    def free_indices(self, node_name: str) -> tuple[int, ...]:
        """Indices of the free GPUs of a node, ascending."""
        used = self._used[self.node(node_name).name]
        return tuple(i for i in range(self.node(node_name).gpus) if i not in used)

    def free_count(self, node_name: str) -> int:
        """Number of free GPUs on a node."""
        return self.node(node_name).gpus - len(self._used[node_name])

    def free_at(self, node_name: str, at: float) -> int:
        """Free GPUs of a node at time ``at`` once every job there ending by then has ended.

        Jobs end at the latest at ``ends_by`` (their time limit); a job without one never counts
        as ended. Jobs that start later are not known here.
        """
        held = sum(
            len(a.gpu_indices) for a in self.allocations
            if a.node == node_name and (a.ends_by is None or a.ends_by > at)
        )
        return self.node(node_name).gpus - held

    def holder(self, gpu: Gpu) -> str | None:
        """Job id holding ``gpu``, or None when it is free."""
        for alloc in self.allocations:
            if alloc.node == gpu.node and gpu.index in alloc.gpu_indices:
                return alloc.job_id
        return None

    @property
    def total_gpus(self) -> int:
        """GPUs in the pool."""
        return sum(node.gpus for node in self.nodes)

    @property
    def used_gpus(self) -> int:
        """GPUs held by running jobs."""
        return sum(len(alloc.gpu_indices) for alloc in self.allocations)

    @property
    def allocation_ratio(self) -> float:
        """Held GPUs / all GPUs, in [0, 1]; 0 for a pool without GPUs."""
        total = self.total_gpus
        return self.used_gpus / total if total else 0.0

    def gpus_of_user(self, user: str) -> int:
        """GPUs held by the running jobs of ``user``."""
        return sum(len(a.gpu_indices) for a in self.allocations if a.user == user)

    def allocation_of(self, job_id: str) -> Allocation | None:
        """The GPUs ``job_id`` holds, or None when it holds none."""
        for alloc in self.allocations:
            if alloc.job_id == job_id:
                return alloc
        return None

    def allocate(
        self, job_id: str, user: str, node: str | None, gpu_indices: Iterable[int],
        ends_by: float | None = None,
    ) -> Cluster:
        """New state with ``gpu_indices`` of ``node`` held by ``job_id`` until ``ends_by`` at most.

        A job with no GPUs (``node`` None, no indices) changes nothing. Raises PlacementError
        when the node is unknown, an index is out of range or a GPU is already held.
        """
        indices = tuple(gpu_indices)
        if not indices:
            return self
        if node is None:
            raise PlacementError(f"Job {job_id} asks for GPUs {indices} but names no node.")
        allocation = Allocation(job_id, user, node, indices, ends_by)
        return Cluster(self.nodes, (*self.allocations, allocation))

    def release(self, job_id: str) -> Cluster:
        """New state without the GPUs of ``job_id``.

        Releasing a job that holds nothing (a CPU job, or one already released) returns the
        state unchanged, so a restarted gateway may release twice safely.
        """
        kept = tuple(a for a in self.allocations if a.job_id != job_id)
        return self if len(kept) == len(self.allocations) else Cluster(self.nodes, kept)


@dataclass(frozen=True)
class Assignment:
    """Start ``job_id`` now on ``gpu_indices`` of ``node`` (None and () for a CPU-only job)."""

    job_id: str
    node: str | None
    gpu_indices: tuple[int, ...]


@dataclass(frozen=True)
class Waiting:
    """A job that stays queued, with a sentence the participant can read."""

    job_id: str
    reason: str


@dataclass(frozen=True)
class PlacementPolicy:
    """How the planner orders the queue and picks nodes.

    fit: ``binpack`` (fullest node that fits) or ``spread`` (emptiest node).
    order: ``fair-share`` (priority, then least recent GPU-seconds, then submission) or
        ``fifo`` (submission time only).
    backfill: when a job fits nowhere, may later jobs in the order start past it? False is
        strict head-of-line order: nothing with GPUs starts until the blocked job does.
    reserve_after_s: with backfill, the first job in queue order that has waited this many
        seconds and still fits nowhere gets one node reserved; one reservation at a time keeps
        the rest of the pool busy. None never reserves, which lets a stream of small jobs starve
        a big one. Ignored without backfill.
    reservation: ``time-limit`` (EASY backfill): the job is promised the node where enough
        GPUs free up soonest, at the time the running jobs there reach their time limits; later
        jobs still start there if their own limit ends before that time or if they fit in the
        GPUs the reserved job leaves over. ``drain``: no other job starts on the reserved node
        until the job does. Time-limit falls back to drain where running jobs declare no limit.
    max_gpus_per_user: GPUs one user's running jobs may hold together; None for no cap. A job
        over the cap waits (it is not rejected) and does not block other users' jobs.
    """

    name: str
    fit: Fit = "binpack"
    order: QueueOrder = "fair-share"
    backfill: bool = True
    reserve_after_s: float | None = 900.0
    max_gpus_per_user: int | None = None
    reservation: ReservationKind = "time-limit"

    def __post_init__(self) -> None:
        if self.fit not in FITS:
            raise PlacementError(f"No fit {self.fit!r}. Available: {', '.join(FITS)}.")
        if self.order not in ("fair-share", "fifo"):
            raise PlacementError(f"No queue order {self.order!r}. Available: fair-share, fifo.")
        if self.reservation not in RESERVATION_KINDS:
            raise PlacementError(
                f"No reservation kind {self.reservation!r}. Available: {', '.join(RESERVATION_KINDS)}."
            )
        if self.reserve_after_s is not None and self.reserve_after_s < 0:
            raise PlacementError("reserve_after_s must be 0 or more seconds, or None to never reserve.")
        if self.max_gpus_per_user is not None and self.max_gpus_per_user < 0:
            raise PlacementError("max_gpus_per_user must be 0 or more, or None for no cap.")


# EASY backfill reserves for the first blocked job at once: jobs that end by their limits still
# start before it, so the promise costs little (benchmarks/RESULTS.md, placement and week).
BINPACK = PlacementPolicy("binpack", reserve_after_s=0)
FIFO_SPREAD = PlacementPolicy(
    "fifo-spread", fit="spread", order="fifo", backfill=False, reserve_after_s=None
)
POLICIES: Mapping[str, PlacementPolicy] = {p.name: p for p in (BINPACK, FIFO_SPREAD)}


def get_policy(name: str) -> PlacementPolicy:
    """The built-in policy called ``name``; raises PlacementError listing the choices."""
    try:
        return POLICIES[name]
    except KeyError:
        raise PlacementError(
            f"No placement policy {name!r}. Available: {', '.join(POLICIES)}."
        ) from None


@dataclass(frozen=True)
class Plan:
    """What to start now, who waits and why, and the cluster once the starts are applied."""

    assignments: tuple[Assignment, ...]
    waiting: tuple[Waiting, ...]
    cluster: Cluster
    reserved: Mapping[str, str] = field(default_factory=dict)  # node name -> job id
    reservation: Reservation | None = None  # the time-limit reservation, if one was made


def choose_node(
    cluster: Cluster, gpus: int, fit: Fit, excluded: Iterable[str] = ()
) -> str | None:
    """Node to place a ``gpus``-GPU job on, or None when no node has that many free.

    ``binpack`` picks the node with the fewest free GPUs that still fits (best fit), and among
    those the smallest node, so the big nodes stay whole for the jobs only they can hold;
    ``spread`` picks the node with the most free GPUs. Remaining ties go to the node listed first.
    """
    skip = set(excluded)
    candidates = [
        (cluster.free_count(node.name), node.gpus, position, node.name)
        for position, node in enumerate(cluster.nodes)
        if node.name not in skip and cluster.free_count(node.name) >= gpus
    ]
    if not candidates:
        return None
    if fit == "binpack":
        return min(candidates)[3]
    return min((-free, position, name) for free, _, position, name in candidates)[2]


def _node_to_drain(cluster: Cluster, gpus: int) -> str | None:
    # The node closest to fitting the job: most free GPUs among nodes big enough. Nothing new
    # starts there, so its free count only grows and the choice is stable between plans.
    big_enough = [
        (-cluster.free_count(node.name), position, node.name)
        for position, node in enumerate(cluster.nodes)
        if node.gpus >= gpus
    ]
    return min(big_enough)[2] if big_enough else None


def make_plan(
    queue: Sequence[JobRequest],
    cluster: Cluster,
    usage_gpu_s: Mapping[str, float],
    policy: PlacementPolicy,
    now: float,
    user_gpu_caps: Mapping[str, int] | None = None,
) -> Plan:
    """Decide which queued jobs start now and where.

    ``queue``: jobs waiting to start (not running ones). ``usage_gpu_s``: each user's recent
    GPU-seconds, for fair share. ``now``: same clock as ``JobRequest.submitted_at``.
    ``user_gpu_caps``: per-user caps that override ``policy.max_gpus_per_user``. Jobs that
    start get ``ends_by = now + time_limit_s`` in the returned cluster.
    Raises PlacementError when a queued job id already holds GPUs in ``cluster``.
    """
    caps = user_gpu_caps or {}
    largest = max((node.gpus for node in cluster.nodes), default=0)
    state = cluster
    reserved: dict[str, str] = {}
    drained: set[str] = set()
    reservation: Reservation | None = None
    blocker: JobRequest | None = None
    assignments: list[Assignment] = []
    waiting: list[Waiting] = []

    for job in order_queue(queue, usage_gpu_s, policy.order):
        if state.allocation_of(job.job_id) is not None:
            raise PlacementError(f"Job {job.job_id} is queued but already holds GPUs.")
        if job.gpus == 0:
            # CPU-only jobs take nothing from the pool, so they never wait for GPUs.
            assignments.append(Assignment(job.job_id, None, ()))
            continue
        if job.gpus > largest:
            waiting.append(Waiting(job.job_id, (
                f"This job asks for {job.gpus} GPUs on one node, but the largest node has "
                f"{largest}; it cannot start. Cancel it and ask for {largest} or fewer."
            )))
            continue
        cap = caps.get(job.user, policy.max_gpus_per_user)
        held = state.gpus_of_user(job.user)
        if cap is not None and held + job.gpus > cap:
            waiting.append(Waiting(job.job_id, (
                f"Waiting: your running jobs hold {held} GPUs and the limit is {cap} per user; "
                f"this job needs {job.gpus} more." if job.gpus <= cap else
                f"This job asks for {job.gpus} GPUs but the limit is {cap} per user; it cannot "
                f"start. Cancel it and ask for {cap} or fewer."
            )))
            continue
        if blocker is not None:
            waiting.append(Waiting(job.job_id, (
                f"Waiting behind job {blocker.job_id}, which needs {blocker.gpus} GPUs on one "
                "node (jobs start in order under this policy)."
            )))
            continue
        excluded, takes_spare = set(drained), False
        if reservation is not None:
            beside, takes_spare = fits_beside(reservation, job, now)
            if not beside:
                excluded.add(reservation.node)
        node = choose_node(state, job.gpus, policy.fit, excluded=excluded)
        if node is not None:
            indices = state.free_indices(node)[: job.gpus]
            ends_by = None if job.time_limit_s is None else now + job.time_limit_s
            state = state.allocate(job.job_id, job.user, node, indices, ends_by)
            if reservation is not None and node == reservation.node and takes_spare:
                reservation = replace(reservation, spare_gpus=reservation.spare_gpus - job.gpus)
            assignments.append(Assignment(job.job_id, node, indices))
            continue
        most_free = max((state.free_count(n.name) for n in state.nodes), default=0)
        reason = (
            f"Waiting for {job.gpus} free GPUs on one node; the most free on any node "
            f"is {most_free}."
        )
        if reservation is not None and state.free_count(reservation.node) >= job.gpus:
            reason = held_back_reason(reservation, job.gpus, now)
        if not policy.backfill:
            blocker = job
        elif (
            not reserved
            and policy.reserve_after_s is not None
            and now - job.submitted_at >= policy.reserve_after_s
        ):
            if policy.reservation == "drain":
                to_drain = _node_to_drain(state, job.gpus)
                if to_drain is not None:
                    drained.add(to_drain)
                    reserved[to_drain] = job.job_id
                    reason += f" Node {to_drain} is reserved for this job and takes no new jobs."
            else:
                reservation = reserve(state, job, now)
                if reservation is not None:
                    reserved[reservation.node] = job.job_id
        if reservation is not None and reservation.job_id == job.job_id:
            reason += " " + reserved_reason(reservation, now)
        waiting.append(Waiting(job.job_id, reason))

    return Plan(tuple(assignments), tuple(waiting), state, reserved, reservation)


def plan(
    queue: Sequence[JobRequest],
    cluster: Cluster,
    usage_gpu_s: Mapping[str, float],
    policy: PlacementPolicy,
    now: float,
    user_gpu_caps: Mapping[str, int] | None = None,
) -> list[Assignment]:
    """The jobs to start now, in start order (see ``make_plan`` for arguments and reasons)."""
    return list(make_plan(queue, cluster, usage_gpu_s, policy, now, user_gpu_caps).assignments)
