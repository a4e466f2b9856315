"""Best placement in hindsight: brute force over every job-to-node assignment under the online queue discipline (issue 4).

The third optimum of ``benchmarks/placement.py``, between the clairvoyant exact optimum (free to
pick start times and to idle GPUs on purpose) and the per-step packing optimum (no future
knowledge). Here only the *placement* is chosen in hindsight: each job is given a node in
advance, and the schedule then follows the same online discipline as the gateway's planner:

* at every arrival and completion the waiting jobs are walked in the policy's queue order
  (``fair-share``: least recent GPU-seconds first, then submission, exactly as
  ``arenahub.gateway.queue.queue_key`` with equal priorities; or ``fifo``);
* each job starts as soon as its assigned node has enough free GPUs; a job whose node is full
  waits and does not hold back later jobs whose nodes have room (no deliberate idling beyond
  what the assignment forces: no reservations, no look-ahead);
* jobs run their true durations, so time limits play no part.

Every assignment is tried (3 nodes, 8 jobs: at most 3^8 = 6,561) and the best kept: largest
allocation ratio, i.e. shortest makespan, since the work is fixed; ties go to the least total
wait. Two things shrink the search without changing the result: a job is only tried on nodes big
enough for it, and nodes of equal size are interchangeable (the discipline never looks at a
node's name), so only assignments that use equal nodes in first-use order are simulated.
GPUs within a node are interchangeable too (no topology in the model: a job needs N GPUs of one
node, any N), so a node's free count is its whole state and GPU indices need no search.
"""

from __future__ import annotations

import hashlib
import json
import math
import multiprocessing
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

HindsightOrder = Literal["fair-share", "fifo"]
HINDSIGHT_ORDERS: tuple[HindsightOrder, ...] = ("fair-share", "fifo")
MAX_WORKERS = 2  # the benchmark VM has 2 cores shared by the team


class _Job(Protocol):
    job_id: str
    user: str
    gpus: int
    arrival_s: float
    duration_s: float


class _Trace(Protocol):
    node_sizes: tuple[int, ...]

    @property
    def jobs(self) -> Sequence[_Job]: ...


@dataclass(frozen=True)
class PlainJob:
    """A trace job as plain values (what worker processes receive)."""

    job_id: str
    user: str
    gpus: int
    arrival_s: float
    duration_s: float


@dataclass(frozen=True)
class PlainTrace:
    """A trace as plain values: node sizes and jobs."""

    node_sizes: tuple[int, ...]
    jobs: tuple[PlainJob, ...]


def plain(trace: _Trace) -> PlainTrace:
    """``trace`` copied into this module's own types (picklable without the caller's classes)."""
    return PlainTrace(tuple(trace.node_sizes),
                      tuple(PlainJob(j.job_id, j.user, j.gpus, j.arrival_s, j.duration_s) for j in trace.jobs))


@dataclass(frozen=True)
class HindsightBest:
    """The best assignment of one trace: its completion time, total wait and node per job.

    ``end_s``: when the last job ends (same clock as the arrivals); ``total_wait_s``: sum of
    (start - arrival) over the jobs; ``nodes``: the node index of each job, jobs in (arrival,
    job id) order; ``searched``: how many assignments were simulated.
    """

    end_s: float
    total_wait_s: float
    nodes: tuple[int, ...]
    searched: int


def replay(trace: _Trace, nodes: Sequence[int], order: HindsightOrder = "fair-share") -> tuple[float, float, list[float]]:
    """Run ``trace`` with job k (in (arrival, job id) order) pinned to node ``nodes[k]``.

    Returns (end of the last job, total wait, start time per job). Raises ValueError when a job
    is pinned to a node smaller than it (it would never start) or ``order`` is unknown.
    """
    if order not in HINDSIGHT_ORDERS:
        raise ValueError(f"No queue order {order!r}. Available: {', '.join(HINDSIGHT_ORDERS)}.")
    jobs = sorted(trace.jobs, key=lambda j: (j.arrival_s, j.job_id))
    users = sorted({j.user for j in jobs})
    for job, node in zip(jobs, nodes):
        if trace.node_sizes[node] < job.gpus:
            raise ValueError(f"Job {job.job_id} needs {job.gpus} GPUs; node {node} has {trace.node_sizes[node]}.")
    table = _job_table(jobs, users)
    end, wait, starts = _replay(table, tuple(nodes), list(trace.node_sizes), len(users), order == "fair-share")
    return end, wait, starts


def _job_table(jobs: Sequence[_Job], users: Sequence[str]) -> tuple[tuple[int, float, float, int], ...]:
    index = {u: i for i, u in enumerate(users)}
    return tuple((j.gpus, float(j.arrival_s), float(j.duration_s), index[j.user]) for j in jobs)


def _replay(
    table: tuple[tuple[int, float, float, int], ...], nodes: tuple[int, ...], free: list[int],
    n_users: int, fair_share: bool,
) -> tuple[float, float, list[float]]:
    # The inner loop of the brute force: plain lists and indices, no objects.
    n = len(table)
    starts: list[float] = [math.nan] * n
    running: list[tuple[float, int]] = []  # (end, job index)
    waiting: list[int] = []
    next_arrival, t = 0, table[0][1]
    while True:
        if running:
            still = []
            for end, k in running:
                if end <= t:
                    free[nodes[k]] += table[k][0]
                else:
                    still.append((end, k))
            running = still
        while next_arrival < n and table[next_arrival][1] <= t:
            waiting.append(next_arrival)
            next_arrival += 1
        if len(waiting) > 1 and fair_share:
            # queue_key with equal priorities: recent GPU-seconds, then arrival (= index order)
            usage = [0.0] * n_users
            for k in range(n):
                s = starts[k]
                if s == s and s < t:  # started before now (nan != nan)
                    g, _, d, u = table[k]
                    usage[u] += g * (min(t, s + d) - s)
            waiting.sort(key=lambda k: (usage[table[k][3]], k))
        if waiting:
            kept = []
            for k in waiting:
                g = table[k][0]
                node = nodes[k]
                if free[node] >= g:
                    free[node] -= g
                    starts[k] = t
                    running.append((t + table[k][2], k))
                else:
                    kept.append(k)
            waiting = kept
        if next_arrival < n:
            upcoming = table[next_arrival][1]
            if running:
                upcoming = min(upcoming, min(end for end, _ in running))
        elif running:
            upcoming = min(end for end, _ in running)
        else:
            break
        t = upcoming
    end = max(starts[k] + table[k][2] for k in range(n))
    wait = sum(starts[k] - table[k][1] for k in range(n))
    return end, wait, starts


def assignments(node_sizes: Sequence[int], job_gpus: Sequence[int]) -> Iterator[tuple[int, ...]]:
    """Every assignment of the jobs to nodes big enough for them, one per class of equal-node swaps.

    Nodes of equal size are interchangeable, so of the assignments that differ only by swapping
    such nodes, the one using them in first-use order (lowest index first) is yielded.
    """
    sizes = list(node_sizes)
    # For node i: the previous node of the same size (it must be in use before i may be).
    twin_before = [max((j for j in range(i) if sizes[j] == sizes[i]), default=-1) for i in range(len(sizes))]
    used = [False] * len(sizes)
    pick: list[int] = []

    def walk(k: int) -> Iterator[tuple[int, ...]]:
        if k == len(job_gpus):
            yield tuple(pick)
            return
        for i, size in enumerate(sizes):
            if size < job_gpus[k] or (not used[i] and twin_before[i] >= 0 and not used[twin_before[i]]):
                continue
            first_use = not used[i]
            used[i] = True
            pick.append(i)
            yield from walk(k + 1)
            pick.pop()
            if first_use:
                used[i] = False

    return walk(0)


def hindsight_optimum(trace: _Trace, order: HindsightOrder = "fair-share") -> HindsightBest:
    """The best placement in hindsight of ``trace`` (see the module docstring).

    Best = earliest end of the last job (largest allocation ratio), then least total wait, then
    the first assignment found. Raises ValueError when a job fits on no node or ``order`` is unknown.
    """
    if order not in HINDSIGHT_ORDERS:
        raise ValueError(f"No queue order {order!r}. Available: {', '.join(HINDSIGHT_ORDERS)}.")
    jobs = sorted(trace.jobs, key=lambda j: (j.arrival_s, j.job_id))
    biggest = max(trace.node_sizes)
    for job in jobs:
        if job.gpus > biggest:
            raise ValueError(f"Job {job.job_id} needs {job.gpus} GPUs; the largest node has {biggest}.")
    users = sorted({j.user for j in jobs})
    table = _job_table(jobs, users)
    sizes, fair_share = list(trace.node_sizes), order == "fair-share"
    best: tuple[float, float] = (math.inf, math.inf)
    best_nodes: tuple[int, ...] = ()
    searched = 0
    for nodes in assignments(sizes, [j.gpus for j in jobs]):
        end, wait, _ = _replay(table, nodes, list(sizes), len(users), fair_share)
        searched += 1
        if (end, wait) < best:
            best, best_nodes = (end, wait), nodes
    return HindsightBest(best[0], best[1], best_nodes, searched)


def hindsight_sha256(trace: _Trace) -> str:
    """Hash of what the hindsight optimum depends on: nodes, and each job's id, user, GPUs, arrival, run time.

    Users count here (fair share orders by them), unlike for the clairvoyant optimum.
    """
    data = [list(trace.node_sizes),
            [(j.job_id, j.user, j.gpus, j.arrival_s, j.duration_s) for j in trace.jobs]]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def _solve(args: tuple[_Trace, HindsightOrder]) -> HindsightBest:
    return hindsight_optimum(*args)


def cached_hindsight_optima(
    traces: Sequence[_Trace], seed: int, n_jobs: int, cache_path: Path,
    order: HindsightOrder = "fair-share", workers: int = MAX_WORKERS,
) -> tuple[list[HindsightBest], int]:
    """The hindsight optimum of each trace from ``cache_path``, computing and saving missing ones.

    Keys: ``seed=..;jobs=..;index=..;order=..;sha256=..`` (as ``placement_optima.json``, plus the
    queue order). Missing traces are solved by up to ``workers`` processes (at most
    ``MAX_WORKERS``); the file is rewritten every 50 solved traces, so an interrupted run keeps
    its progress. Returns the optima and how many were computed now.
    """
    cache: dict[str, dict] = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    keys = [f"seed={seed};jobs={n_jobs};index={i};order={order};sha256={hindsight_sha256(tr)}"
            for i, tr in enumerate(traces)]
    missing = [i for i, key in enumerate(keys) if key not in cache]

    def save() -> None:
        cache_path.write_text(json.dumps(cache, indent=0, sort_keys=True) + "\n")

    def store(i: int, best: HindsightBest) -> None:
        cache[keys[i]] = {"end_s": best.end_s, "total_wait_s": best.total_wait_s,
                          "nodes": ",".join(map(str, best.nodes)), "searched": best.searched}

    workers = max(1, min(workers, MAX_WORKERS))
    work = [(plain(traces[i]), order) for i in missing]
    if workers == 1 or len(missing) < 4:
        solved: Iterator[HindsightBest] = map(_solve, work)
        for done, (i, best) in enumerate(zip(missing, solved), 1):
            store(i, best)
            if done % 50 == 0:
                save()
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for done, (i, best) in enumerate(zip(missing, pool.imap(_solve, work, chunksize=4)), 1):
                store(i, best)
                if done % 50 == 0:
                    save()
    if missing:
        save()
    out = [HindsightBest(cache[k]["end_s"], cache[k]["total_wait_s"], tuple(int(i) for i in cache[k]["nodes"].split(",")),
                         cache[k]["searched"]) for k in keys]
    return out, len(missing)
