"""Placement benchmark: binpack+backfill vs binpack vs fifo-spread vs three optima (issues 4 and 10).

Each trace is a small cluster and a list of jobs (arrival, true duration, declared time limit,
GPUs 1/2/3/4/8). Every decider runs in the same discrete-event simulation, which decides again at
each arrival and completion, as the gateway does; the policies go through
``arenahub.gateway.placement.make_plan`` and see only the declared limits, never the true
durations. Declared limits over-estimate (see ``declare_limit``). Three optima, defined honestly:

* exact offline optimum (clairvoyant): knows every arrival and duration in advance and searches
  every non-preemptive schedule (each job whole on one node, deliberate idling allowed) by
  branch and bound; computed separately per metric, so no single schedule need reach both:
  the allocation-ratio optimum minimises the makespan, the wait optimum the total wait;
* best placement in hindsight (``placement_hindsight.py``): brute force over every assignment
  of each job to a node, the schedule then following the planners' online discipline (fair-share
  queue order, a job starts as soon as its node has room, no deliberate idling); the assignment
  with the largest allocation ratio wins, ties to the least wait. It knows the future only
  through the node it gives each job;
* per-step packing optimum (myopic): at each decision, the brute-force best packing of the
  waiting jobs now (most GPUs started, then least fragmented free GPUs); no future knowledge,
  the best any planner that looks only at the present can do in one step.

Metrics: allocation ratio = GPU-seconds of all jobs / (GPUs in the cluster x makespan), the
makespan running from the first arrival to the last completion; mean queue wait = mean of
(start - arrival). Run: ``.venv/bin/python benchmarks/placement.py [--traces N --jobs K]``.
The exact optima of the random traces are cached in ``placement_optima.json`` next to this
script, keyed by seed, trace size, index and a SHA-256 of the trace; missing ones are computed
(about 4 s per trace) and saved, so re-runs take minutes; the hindsight optima likewise in
``placement_hindsight.json`` (about 25 s for all 1,000 traces and both queue orders, 2 processes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from arenahub.gateway.placement import (
    BINPACK,
    FIFO_SPREAD,
    Cluster,
    PlacementPolicy,
    make_plan,
)
from arenahub.gateway.queue import JobRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.placement_hindsight import cached_hindsight_optima, hindsight_optimum  # noqa: E402 - repository root first


@dataclass(frozen=True)
class TraceJob:
    job_id: str
    user: str
    gpus: int
    arrival_s: float
    duration_s: float  # true run time, hidden from the planners
    limit_s: float = math.inf  # declared time limit (>= duration_s): what the planners see


@dataclass(frozen=True)
class Trace:
    node_sizes: tuple[int, ...]
    jobs: tuple[TraceJob, ...]

    @property
    def work_gpu_s(self) -> float:
        return sum(j.gpus * j.duration_s for j in self.jobs)

    @property
    def first_arrival_s(self) -> float:
        return min(j.arrival_s for j in self.jobs)


@dataclass(frozen=True)
class Outcome:
    makespan_s: float
    total_wait_s: float
    n_jobs: int
    allocation_ratio: float

    @property
    def mean_wait_s(self) -> float:
        return self.total_wait_s / self.n_jobs


def _outcome(trace: Trace, makespan_end_s: float, total_wait_s: float) -> Outcome:
    span = makespan_end_s - trace.first_arrival_s
    ratio = trace.work_gpu_s / (sum(trace.node_sizes) * span)
    return Outcome(span, total_wait_s, len(trace.jobs), ratio)


Decide = Callable[[list[JobRequest], Cluster, dict[str, float], float], list[tuple[str, str | None, tuple[int, ...]]]]


def policy_decider(policy: PlacementPolicy) -> Decide:
    """The gateway's planner under ``policy``, as a simulation decider."""

    def decide(queue, cluster, usage, now):
        result = make_plan(queue, cluster, usage, policy, now=now)
        return [(a.job_id, a.node, a.gpu_indices) for a in result.assignments]

    return decide


def longest_limit_first_decider(policy: PlacementPolicy) -> Decide:
    """The planner with each job's priority set to its time limit: longest declared run first.

    Not a policy arenahub offers (it overrides fair share); it shows what ordering by run time,
    the classic makespan heuristic (LPT), buys against the clairvoyant optimum.
    """

    def decide(queue, cluster, usage, now):
        by_limit = [replace(j, priority=int(j.time_limit_s or 0)) for j in queue]
        result = make_plan(by_limit, cluster, usage, policy, now=now)
        return [(a.job_id, a.node, a.gpu_indices) for a in result.assignments]

    return decide


def per_step_packing_decider(queue, cluster, usage, now):
    """Myopic optimum: at each decision, the exact best packing of the waiting jobs right now.

    Brute force over every subset of the waiting jobs and every node for each: maximise the GPUs
    started now, then the sum of squared free GPUs per node (free GPUs kept together on few
    nodes), then earlier submissions. It knows nothing about the future.
    """
    jobs = sorted(queue, key=lambda j: (j.submitted_at, j.job_id))[:10]
    names = [node.name for node in cluster.nodes]
    free0 = [cluster.free_count(name) for name in names]
    best: tuple = (-1, -1)
    best_pick: list[tuple[int, int]] = []

    def walk(k: int, free: list[int], started: int, pick: list[tuple[int, int]]) -> None:
        nonlocal best, best_pick
        if k == len(jobs):
            score = (started, sum(f * f for f in free))
            if score > best:  # strict: the first found (earlier jobs placed) wins ties
                best, best_pick = score, list(pick)
            return
        g = jobs[k].gpus
        tried = set()
        for pos, f in enumerate(free):
            if f >= g and (f, cluster.nodes[pos].gpus) not in tried:
                tried.add((f, cluster.nodes[pos].gpus))
                free[pos] -= g
                pick.append((k, pos))
                walk(k + 1, free, started + g, pick)
                pick.pop()
                free[pos] += g
        walk(k + 1, free, started, pick)

    walk(0, free0, 0, [])
    out, state = [], cluster
    for k, pos in best_pick:
        job = jobs[k]
        indices = state.free_indices(names[pos])[: job.gpus]
        state = state.allocate(job.job_id, job.user, names[pos], indices)
        out.append((job.job_id, names[pos] if job.gpus else None, indices))
    return out


def simulate(trace: Trace, decide: Decide, exact_limits: bool = False) -> Outcome:
    """Run ``trace`` through ``decide``, deciding again at every arrival and completion.

    Planners see each job's declared limit, or its true duration with ``exact_limits`` (an
    oracle, to show what the over-estimates cost).
    """
    cluster = Cluster.from_sizes({f"n{i}": s for i, s in enumerate(trace.node_sizes)})
    by_id = {j.job_id: j for j in trace.jobs}
    arrivals = sorted(trace.jobs, key=lambda j: (j.arrival_s, j.job_id))
    running: dict[str, float] = {}  # job id -> end time
    started_at: dict[str, float] = {}
    queue: list[JobRequest] = []
    next_arrival = 0
    t = arrivals[0].arrival_s
    while len(started_at) < len(trace.jobs) or running:
        for job_id in [j for j, end in running.items() if end <= t]:
            cluster = cluster.release(job_id)
            del running[job_id]
        while next_arrival < len(arrivals) and arrivals[next_arrival].arrival_s <= t:
            a = arrivals[next_arrival]
            limit = a.duration_s if exact_limits else a.limit_s
            queue.append(JobRequest(a.job_id, a.user, a.gpus, 0, a.arrival_s,
                                    None if math.isinf(limit) else limit))
            next_arrival += 1
        usage: dict[str, float] = {}
        for job_id, start in started_at.items():
            job = by_id[job_id]
            usage[job.user] = usage.get(job.user, 0.0) + job.gpus * (min(t, start + job.duration_s) - start)
        for job_id, node, indices in decide(queue, cluster, usage, t):
            job = by_id[job_id]
            declared = job.duration_s if exact_limits else job.limit_s
            cluster = cluster.allocate(job_id, job.user, node, indices,
                                       None if math.isinf(declared) else t + declared)
            started_at[job_id] = t
            running[job_id] = t + by_id[job_id].duration_s
        queue = [j for j in queue if j.job_id not in started_at]
        upcoming = [*running.values()]
        if next_arrival < len(arrivals):
            upcoming.append(arrivals[next_arrival].arrival_s)
        if not upcoming:
            break
        t = min(upcoming)
    if len(started_at) < len(trace.jobs):
        raise RuntimeError("jobs left unstarted: the trace has a job no node fits")
    end = max(started_at[j] + by_id[j].duration_s for j in started_at)
    wait = sum(started_at[j.job_id] - j.arrival_s for j in trace.jobs)
    return _outcome(trace, end, wait)


def optimum(trace: Trace, objective: str, incumbent: float = math.inf) -> Outcome:
    """Exact offline optimum of ``trace`` for ``objective`` ("makespan" or "wait").

    Branch and bound over every schedule that starts jobs only at event times (an arrival or a
    completion). That loses nothing: a start between two events can move back to the earlier
    event, since no GPU is freed in between. Every choice is searched, deliberately leaving a
    job waiting included. Nodes are canonicalised (sorted), so placements that differ only by
    swapping identical nodes are searched once; a transposition table stores exact values and
    lower bounds. ``incumbent`` is a known achievable value (e.g. from a heuristic) to prune
    with; it never changes the result.
    """
    jobs = sorted(trace.jobs, key=lambda j: (j.arrival_s, j.job_id))
    n = len(jobs)
    gpus = [j.gpus for j in jobs]
    dur = [j.duration_s for j in jobs]
    arr = [j.arrival_s for j in jobs]
    total_gpus = sum(trace.node_sizes)
    if objective not in ("makespan", "wait"):
        raise ValueError(f"objective must be makespan or wait, not {objective!r}")
    wait_objective = objective == "wait"
    # A node is (size, free, running) with running a sorted tuple of (end, gpus).
    table: dict[tuple, tuple[float, bool]] = {}

    def earliest_fit(g: int, nodes: Sequence[tuple], t: float) -> float:
        best_t = math.inf
        for size, free, run in nodes:
            if size < g:
                continue
            if free >= g:
                return t
            for end, used in run:
                free += used
                if free >= g:
                    best_t = min(best_t, end)
                    break
        return best_t

    def lower_bound(t: float, nodes: Sequence[tuple], pending: list[int], next_arrival: int) -> float:
        if wait_objective:
            # Jobs that fit nowhere now wait until enough GPUs of one node free up; of those that
            # fit, at most as many as the free GPUs hold (smallest first) start now and the rest
            # wait at least until the next completion.
            fits_now = sorted(gpus[i] for i in pending if earliest_fit(gpus[i], nodes, t) == t)
            bound = sum(earliest_fit(gpus[i], nodes, t) - t for i in pending)
            room, can_start = sum(free for _, free, _ in nodes), 0
            for g in fits_now:
                if g > room:
                    break
                room -= g
                can_start += 1
            ends = [end for _, _, run in nodes for end, _ in run]
            if can_start < len(fits_now) and ends:
                bound += (len(fits_now) - can_start) * (min(ends) - t)
            return bound
        ends = [end for _, _, run in nodes for end, _ in run]
        work = sum(used * (end - t) for _, _, run in nodes for end, used in run)
        bound = max([t, *ends])
        for i in pending:
            bound = max(bound, earliest_fit(gpus[i], nodes, t) + dur[i])
            work += gpus[i] * dur[i]
        for i in range(next_arrival, n):
            bound = max(bound, arr[i] + dur[i])
            work += gpus[i] * dur[i]
        return max(bound, t + work / total_gpus)

    def search(t: float, nodes: tuple, pending: int, next_arrival: int, budget: float) -> float:
        """Best value from this state: exact when below ``budget``, else a lower bound."""
        key = (t, nodes, pending, next_arrival)
        hit = table.get(key)
        if hit is not None and (hit[1] or hit[0] >= budget):
            return hit[0]
        cleaned = []
        for size, free, run in nodes:
            kept = tuple(r for r in run if r[0] > t)
            cleaned.append((size, size - sum(g for _, g in kept), kept))
        while next_arrival < n and arr[next_arrival] <= t:
            pending |= 1 << next_arrival
            next_arrival += 1
        pending_ids = [i for i in range(n) if pending >> i & 1]
        if not pending_ids and next_arrival == n:
            value = 0.0 if wait_objective else max([t, *(e for _, _, run in cleaned for e, _ in run)])
            table[key] = (value, True)
            return value
        bound = lower_bound(t, cleaned, pending_ids, next_arrival)
        if bound >= budget:
            table[key] = (bound, False)
            return bound

        decisions: list[tuple[int, list]] = []  # (GPUs started, node states)

        def choose(k: int, state: list, left: int, started: int) -> None:
            if k == len(pending_ids):
                decisions.append((started, left, state))
                return
            i = pending_ids[k]
            tried = set()
            for pos, node in enumerate(state):
                size, free, run = node
                if free < gpus[i] or node in tried:
                    continue
                tried.add(node)  # identical nodes give identical futures
                new = list(state)
                new[pos] = (size, free - gpus[i], tuple(sorted((*run, (t + dur[i], gpus[i])))))
                choose(k + 1, new, left & ~(1 << i), started + gpus[i])
            choose(k + 1, state, left, started)  # job i keeps waiting

        choose(0, cleaned, pending, 0)
        decisions.sort(key=lambda d: -d[0])  # busiest first: finds good schedules early
        best_value = math.inf
        for _, left, state in decisions:
            upcoming = [e for _, _, run in state for e, _ in run]
            if next_arrival < n:
                upcoming.append(arr[next_arrival])
            if not upcoming:
                continue  # nothing runs and nothing arrives: the waiting jobs would wait forever
            t_next = min(upcoming)
            step = bin(left).count("1") * (t_next - t) if wait_objective else 0.0
            limit = min(budget, best_value) - step
            value = step + search(t_next, tuple(sorted(state)), left, next_arrival, limit)
            best_value = min(best_value, value)
            if best_value <= bound:
                break  # cannot do better than the lower bound
        table[key] = (best_value, best_value < budget)
        return best_value

    start = arr[0]
    empty = tuple(sorted((s, s, ()) for s in trace.node_sizes))
    value = search(start, empty, 0, 0, incumbent + 1e-9)
    if value > incumbent:
        value = incumbent  # the search proved nothing beats the incumbent
    if wait_objective:
        return _outcome(trace, math.nan, value)
    return _outcome(trace, value, math.nan)


def random_trace(rng: random.Random, n_jobs: int) -> Trace:
    """A small contended trace: a 6-12 GPU cluster and ``n_jobs`` jobs arriving in a burst."""
    sizes, counts = rng.choice([
        ((3, 3, 3), (1, 1, 2, 3)),
        ((4, 4), (1, 1, 2, 4)),
        ((4, 4, 4), (1, 2, 2, 4)),
        ((8, 4), (1, 2, 4, 8)),
        ((2, 2, 2, 2), (1, 1, 2)),
    ])
    jobs = []
    t = 0.0
    for i in range(n_jobs):
        t += round(rng.expovariate(1 / 120.0))  # mean gap 2 minutes: the queue builds up
        duration = max(60.0, round(rng.lognormvariate(math.log(900), 0.8) / 60) * 60.0)
        jobs.append(TraceJob(f"j{i}", f"u{rng.randrange(3)}", rng.choice(counts), t, duration))
    return Trace(sizes, tuple(jobs))


ROUND_LIMITS_S = (1800.0, 3600.0, 2 * 3600.0, 4 * 3600.0, 8 * 3600.0)


def declare_limit(rng: random.Random, duration_s: float) -> float:
    """The time limit a participant declares for a job that truly runs ``duration_s``.

    Participants over-estimate: the true duration x U(1.0, 3.0), rounded up to the minute; half
    of them then round that up again to the next of 30 min, 1 h, 2 h, 4 h, 8 h, as people pick
    round limits. Never below the true duration (the sandbox would kill the job).
    """
    limit = math.ceil(duration_s * rng.uniform(1.0, 3.0) / 60) * 60.0
    if rng.random() < 0.5:
        limit = next((r for r in ROUND_LIMITS_S if r >= limit), limit)
    return max(limit, duration_s)


def with_declared_limits(trace: Trace, rng: random.Random) -> Trace:
    """``trace`` with a declared limit per job (separate rng: the jobs stay those of earlier runs)."""
    jobs = tuple(
        TraceJob(j.job_id, j.user, j.gpus, j.arrival_s, j.duration_s, declare_limit(rng, j.duration_s))
        for j in trace.jobs
    )
    return Trace(trace.node_sizes, jobs)


SEED_004 = Trace(
    (3, 3, 3),
    tuple(TraceJob(f"job{i + 1}", "ann", g, float(i), 3600.0, 2 * 3600.0) for i, g in enumerate((1, 2, 1, 3))),
)

DECIDERS: dict[str, tuple[Decide, bool]] = {  # name -> (decider, planners see the true durations)
    "binpack+backfill (default)": (policy_decider(BINPACK), False),
    "binpack+backfill, reserve after 900 s": (policy_decider(PlacementPolicy("b900", reserve_after_s=900)), False),
    "binpack+backfill, exact limits": (policy_decider(BINPACK), True),
    "binpack, drain (previous)": (
        policy_decider(PlacementPolicy("drain", reservation="drain", reserve_after_s=900)), False
    ),
    "binpack, never reserve": (policy_decider(PlacementPolicy("bn", reserve_after_s=None)), False),
    "fifo-spread (baseline)": (policy_decider(FIFO_SPREAD), False),
    "per-step packing optimum": (per_step_packing_decider, False),
    "longest limit first (no fair share)": (longest_limit_first_decider(BINPACK), False),
    "longest true run first (oracle)": (longest_limit_first_decider(BINPACK), True),
}

OPTIMA_CACHE = Path(__file__).with_name("placement_optima.json")
HINDSIGHT_CACHE = Path(__file__).with_name("placement_hindsight.json")


def trace_sha256(trace: Trace) -> str:
    """Hash of what the clairvoyant optimum depends on: nodes, arrivals, true durations, GPUs."""
    data = [trace.node_sizes, [(j.job_id, j.gpus, j.arrival_s, j.duration_s) for j in trace.jobs]]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def cached_optima(
    traces: Sequence[Trace], seed: int, n_jobs: int, incumbents: Sequence[tuple[float, float]],
    cache_path: Path = OPTIMA_CACHE,
) -> tuple[list[Outcome], list[Outcome], int]:
    """Exact (makespan, wait) optima per trace from the cache, computing and saving missing ones.

    ``incumbents``: a known achievable (makespan end, total wait) per trace, only for pruning.
    Returns both lists and how many traces were computed now. The file is rewritten every 25
    computed traces, so an interrupted run keeps its progress.
    """
    cache: dict[str, dict[str, float]] = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    makespans, waits, computed = [], [], 0
    for i, (trace, (best_end, best_wait)) in enumerate(zip(traces, incumbents)):
        key = f"seed={seed};jobs={n_jobs};index={i};sha256={trace_sha256(trace)}"
        if key not in cache:
            cache[key] = {
                "makespan_s": optimum(trace, "makespan", best_end).makespan_s,
                "total_wait_s": optimum(trace, "wait", best_wait).total_wait_s,
            }
            computed += 1
            if computed % 25 == 0:
                cache_path.write_text(json.dumps(cache, indent=0, sort_keys=True) + "\n")
        entry = cache[key]
        makespans.append(_outcome(trace, trace.first_arrival_s + entry["makespan_s"], math.nan))
        waits.append(_outcome(trace, math.nan, entry["total_wait_s"]))
    if computed:
        cache_path.write_text(json.dumps(cache, indent=0, sort_keys=True) + "\n")
    return makespans, waits, computed


def _pct(xs: Sequence[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=8, help="jobs per random trace")
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args(argv)

    print("## seed 004: 3 nodes x 3 GPUs; jobs of 1, 2, 1, 3 GPUs arrive 1 s apart, run 1 h, declare 2 h")
    opt_m, opt_w = optimum(SEED_004, "makespan"), optimum(SEED_004, "wait")
    print(f"{'policy':38} {'alloc ratio':>11} {'mean wait s':>11}")
    for name in ("binpack+backfill (default)", "binpack, drain (previous)", "fifo-spread (baseline)",
                 "per-step packing optimum"):
        decide, exact = DECIDERS[name]
        o = simulate(SEED_004, decide, exact)
        print(f"{name:38} {o.allocation_ratio:11.3f} {o.mean_wait_s:11.1f}")
    hind = hindsight_optimum(SEED_004)
    print(f"{'best placement in hindsight':38} "
          f"{_outcome(SEED_004, hind.end_s, hind.total_wait_s).allocation_ratio:11.3f} "
          f"{hind.total_wait_s / len(SEED_004.jobs):11.1f}  (nodes {hind.nodes}, {hind.searched} assignments)")
    print(f"{'exact offline optimum':38} {opt_m.allocation_ratio:11.3f} {opt_w.mean_wait_s:11.1f}")

    rng = random.Random(args.seed)
    limits_rng = random.Random(f"declared-limits-{args.seed}")
    traces = [with_declared_limits(random_trace(rng, args.jobs), limits_rng) for _ in range(args.traces)]
    t0 = time.perf_counter()
    sims = {name: [simulate(tr, decide, exact) for tr in traces] for name, (decide, exact) in DECIDERS.items()}
    t_sim = time.perf_counter() - t0
    t0 = time.perf_counter()
    # The best simulated result is a valid incumbent for the exact search (it only prunes).
    incumbents = [
        (min(o[i].makespan_s for o in sims.values()) + tr.first_arrival_s,
         min(o[i].total_wait_s for o in sims.values()))
        for i, tr in enumerate(traces)
    ]
    opt_makespan, opt_wait, computed = cached_optima(traces, args.seed, args.jobs, incumbents)
    t_opt = time.perf_counter() - t0
    t0 = time.perf_counter()
    hindsight, hind_computed = cached_hindsight_optima(traces, args.seed, args.jobs, HINDSIGHT_CACHE)
    hindsight_fifo, fifo_computed = cached_hindsight_optima(traces, args.seed, args.jobs, HINDSIGHT_CACHE, "fifo")
    t_hind = time.perf_counter() - t0
    hind_out = [_outcome(tr, h.end_s, h.total_wait_s) for tr, h in zip(traces, hindsight)]
    hind_ratio = [o.allocation_ratio for o in hind_out]

    print(f"\n## {args.traces} random traces, {args.jobs} jobs each, seed {args.seed}")
    print(f"(simulation {t_sim:.1f} s for {len(DECIDERS)} deciders; exact optimum {t_opt:.1f} s, "
          f"{computed} computed, {args.traces - computed} from {OPTIMA_CACHE.name}; hindsight placement "
          f"{t_hind:.1f} s, {hind_computed + fifo_computed} computed, "
          f"{sum(h.searched for h in hindsight)} fair-share assignments simulated)")
    factors = [j.limit_s / j.duration_s for tr in traces for j in tr.jobs]
    print(f"declared limit / true duration: mean {statistics.fmean(factors):.2f}, "
          f"median {statistics.median(factors):.2f}, p95 {_pct(factors, 0.95):.2f}")
    opt_ratio = [o.allocation_ratio for o in opt_makespan]
    step_ratio = [o.allocation_ratio for o in sims["per-step packing optimum"]]
    print(f"{'policy':38} {'alloc':>6} {'% opt':>6} {'p5':>6} {'min':>6} {'>=98%':>6} "
          f"{'% step':>6} {'wait s':>7} {'p95 wait':>8} {'% hind':>6} {'p5':>6} {'min':>6} {'>=98%':>6} "
          f"{'> hind':>6}")
    for name, outcomes in sims.items():
        rel = [o.allocation_ratio / best for o, best in zip(outcomes, opt_ratio)]
        rel_step = [o.allocation_ratio / best for o, best in zip(outcomes, step_ratio)]
        rel_hind = [o.allocation_ratio / best for o, best in zip(outcomes, hind_ratio)]
        waits = [o.mean_wait_s for o in outcomes]
        print(f"{name:38} {statistics.fmean(o.allocation_ratio for o in outcomes):6.3f} "
              f"{100 * statistics.fmean(rel):5.1f}% {100 * _pct(rel, 0.05):5.1f}% {100 * min(rel):5.1f}% "
              f"{sum(r >= 0.98 for r in rel):6d} {100 * statistics.fmean(rel_step):5.1f}% "
              f"{statistics.fmean(waits):7.1f} {_pct(waits, 0.95):8.1f} "
              f"{100 * statistics.fmean(rel_hind):5.1f}% {100 * _pct(rel_hind, 0.05):5.1f}% "
              f"{100 * min(rel_hind):5.1f}% {sum(r >= 0.98 for r in rel_hind):6d} "
              f"{sum(r > 1 + 1e-12 for r in rel_hind):6d}")  # traces where it beats the hindsight placement
    rel = [h / best for h, best in zip(hind_ratio, opt_ratio)]
    waits = [o.mean_wait_s for o in hind_out]
    print(f"{'best placement in hindsight':38} {statistics.fmean(hind_ratio):6.3f} "
          f"{100 * statistics.fmean(rel):5.1f}% {100 * _pct(rel, 0.05):5.1f}% {100 * min(rel):5.1f}% "
          f"{sum(r >= 0.98 for r in rel):6d} {'':6} {statistics.fmean(waits):7.1f} {_pct(waits, 0.95):8.1f} "
          f"{100.0:5.1f}%")
    waits = [o.mean_wait_s for o in opt_wait]
    print(f"{'exact offline optimum':38} {statistics.fmean(opt_ratio):6.3f} {100.0:5.1f}% "
          f"{'':6} {'':6} {'':6} {'':6} {statistics.fmean(waits):7.1f} {_pct(waits, 0.95):8.1f}")
    fifo_ratio = [_outcome(tr, h.end_s, h.total_wait_s).allocation_ratio for tr, h in zip(traces, hindsight_fifo)]
    rel = [o.allocation_ratio / best for o, best in zip(sims["fifo-spread (baseline)"], fifo_ratio)]
    print(f"best placement in hindsight with fifo queue order: {statistics.fmean(fifo_ratio):.3f}; fifo-spread at "
          f"{100 * statistics.fmean(rel):.1f}% of it (p5 {100 * _pct(rel, 0.05):.1f}%, min {100 * min(rel):.1f}%, "
          f"{sum(r >= 0.98 for r in rel)} traces >= 98%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
