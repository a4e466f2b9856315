"""Simulated competition week: GPU allocation and estimated utilisation, arenahub vs stock settings (issue 10).

One seeded trace drives both configurations on a 60 s clock through arenahub's pure modules:

* Coding pool: 8 GPUs cut into 0.25 slices (``arenahub.spawner.slices.place_slice``, binpack).
  Participants open notebook sessions made of active bursts (kernel computing) and idle gaps;
  after the last burst they walk away and the server idles until culled. A participant who
  finds no free slice retries each minute and gives up after 30 min (refused demand).
  arenahub: the idle culler with the per-profile arbiter (``arenahub.hub_config.culling``,
  gpu-quarter 1800 s, checked every 60 s), its unattended rule (a server idle 300 s whose
  kernels have no browser connected is culled, ``Profile.unattended_limit_s``) and kernel
  culling after 900 s idle (``Profile.kernel_culling``). While a participant sits, their
  visible tab's API calls keep the server active. When they leave, the tab is closed (kernels
  unattended at once) or, for ``--tab-left-open`` of the sittings, left open and hidden: its
  kernel stays connected until kernel culling ends it. Stock: no kernel culling, server
  timeout 3600 s checked every 1800 s (jupyterhub-idle-culler's default: half the timeout).
* Training pool: 2 nodes x 8 GPUs; jobs of 1/2/4/8 GPUs arrive all week and are placed by
  ``arenahub.gateway.placement.make_plan``: arenahub's binpack with EASY backfill by the jobs'
  declared time limits (over-estimates, ``declare_limits``; fair share) vs the previous drain-only
  binpack vs stock fifo-spread. Jobs keep their GPUs busy 97 % of the time they hold them.

Estimated utilisation = busy GPU-time / allocated GPU-time; allocation = allocated GPU-time /
pool capacity. Both are also given for the hours when someone was waiting (demand exceeded
supply), where reclaiming idle GPUs shows. Run: ``.venv/bin/python benchmarks/utilisation_week.py``.
``--preemption`` adds what-if rows for the training pool: checkpoint-and-requeue preemption
(``benchmarks/training_preemption.py``; not a gateway feature), the default rows unchanged.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from arenahub.core.profiles import DEFAULT_PROFILES
from arenahub.gateway.placement import BINPACK, FIFO_SPREAD, Cluster, PlacementPolicy, make_plan
from arenahub.gateway.queue import JobRequest
from arenahub.hub_config.culling import is_unattended, make_profile_arbiter
from arenahub.spawner.slices import GpuDevice, NoSliceFree, Slice, place_slice

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.training_preemption import PreemptionWhatIf, simulate_training_whatif  # noqa: E402 - repository root first

STEP_S = 60
WEEK_S = 7 * 24 * 3600
GIVE_UP_S = 30 * 60
KERNEL_MEM_GIB = 6.0  # what a participant's idle kernel keeps on the GPU (model, data, CUDA context)
JOB_DUTY = 0.97


@dataclass(frozen=True)
class CodingConfig:
    """How notebook servers and kernels are reclaimed."""

    name: str
    server_timeout_s: int
    cull_every_s: int
    kernel_idle_s: int | None  # None: kernels live as long as their server
    profile_timeouts: dict[str, int] = field(default_factory=dict)
    unattended_s: int = 0  # the culler's unattended rule for gpu-quarter servers; 0: none


_QUARTER = next(p for p in DEFAULT_PROFILES if p.slug == "gpu-quarter")
ARENAHUB_CODING = CodingConfig(
    "arenahub", 3600, 60, _QUARTER.kernel_culling().idle_timeout_s,
    {p.slug: p.idle_timeout_s for p in DEFAULT_PROFILES if p.idle_timeout_s}, _QUARTER.unattended_limit_s(),
)
STOCK_CODING = CodingConfig("stock", 3600, 1800, None)


@dataclass
class Session:
    """One sitting: bursts of (start offset, end offset) in seconds from the session's start."""

    user: str
    arrive_s: float
    bursts: list[tuple[float, float]]
    leaves_tab_open: bool = False  # walks away with the notebook tab open (hidden), not closed


def mark_tabs_left_open(rng: random.Random, sessions: list[Session], share: float) -> list[Session]:
    """The same sessions, ``share`` of them ending with the tab left open; a separate rng keeps the trace."""
    return [replace(s, leaves_tab_open=rng.random() < share) for s in sessions]


def make_sessions(rng: random.Random, users: int) -> list[Session]:
    """Each participant sits 0-3 times a day between 08:00 and 24:00; bursts ~25 min, gaps ~12 min."""
    sessions = []
    for u in range(users):
        for day in range(7):
            for _ in range(min(3, _poisson(rng, 1.4))):
                arrive = day * 86400 + rng.uniform(8 * 3600, 22 * 3600)
                bursts, t = [], 0.0
                for _ in range(1 + _poisson(rng, 2.0)):
                    length = max(120.0, rng.expovariate(1 / (25 * 60)))
                    bursts.append((t, t + length))
                    t += length + max(60.0, rng.expovariate(1 / (12 * 60)))
                sessions.append(Session(f"u{u}", arrive, bursts))
    return sorted(sessions, key=lambda s: s.arrive_s)


def _poisson(rng: random.Random, mean: float) -> int:
    k, p, limit = 0, 1.0, math.exp(-mean)
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


@dataclass
class Server:
    slice_: Slice
    last_activity_s: float
    kernel_alive: bool = True
    session: Session | None = None
    session_start_s: float = 0.0
    tab_open: bool = True


def kernels_seen_by_culler(server: Server) -> list[dict[str, object]]:
    """What the server's ``api/kernels`` answers: its one notebook kernel, connected while a tab is open."""
    if not server.kernel_alive:
        return []
    return [{"connections": int(server.tab_open), "execution_state": "idle"}]


def simulate_coding(sessions: list[Session], cfg: CodingConfig, gpus: int) -> dict[str, float]:
    """Run the week; returns allocation, utilisation, refused sessions and idle-kernel GPU memory."""
    devices = [GpuDevice(i, mem_mib=81559) for i in range(gpus)]
    capacity = gpus * 1.0
    arbiter = make_profile_arbiter(cfg.profile_timeouts, "gpu-quarter")
    servers: dict[str, Server] = {}
    waiting: dict[str, tuple[Session, float]] = {}
    pending = list(reversed(sessions))
    held = busy = contended_held = contended_busy = contended_s = idle_kernel_gib_h = walked_away = 0.0
    refused = started = 0
    for now in range(0, WEEK_S, STEP_S):
        while pending and pending[-1].arrive_s <= now:
            s = pending.pop()
            waiting.setdefault(s.user, (s, s.arrive_s))
        for user, (s, since) in list(waiting.items()):
            server = servers.get(user)
            if server is None:
                try:
                    sl = place_slice(0.25, devices, {k: v.slice_ for k, v in servers.items()})
                except NoSliceFree:
                    if now - since >= GIVE_UP_S:
                        refused += 1
                        del waiting[user]
                    continue
                server = servers[user] = Server(sl, now)
            server.session, server.session_start_s, server.kernel_alive, server.tab_open = s, now, True, True
            server.last_activity_s = now
            started += 1
            del waiting[user]
        busy_now = 0.0
        for server in servers.values():
            s = server.session
            if s is None:
                continue
            offset = now - server.session_start_s
            if offset >= s.bursts[-1][1]:
                server.session, server.tab_open = None, s.leaves_tab_open  # walked away
                continue
            if any(a <= offset < b for a, b in s.bursts):
                busy_now += server.slice_.fraction
                server.last_activity_s = now
                server.kernel_alive = True  # a culled kernel is restarted by the participant
        held_now = sum(sv.slice_.fraction for sv in servers.values())
        walked_away += sum(sv.slice_.fraction for sv in servers.values() if sv.session is None) * STEP_S
        idle_kernels = sum(1 for sv in servers.values() if sv.kernel_alive and sv.last_activity_s < now)
        held += held_now * STEP_S
        busy += busy_now * STEP_S
        idle_kernel_gib_h += idle_kernels * KERNEL_MEM_GIB * STEP_S / 3600
        if waiting:
            contended_s += STEP_S
            contended_held += held_now * STEP_S
            contended_busy += busy_now * STEP_S
        if cfg.kernel_idle_s is not None:
            for sv in servers.values():
                if sv.kernel_alive and now - sv.last_activity_s >= cfg.kernel_idle_s:
                    sv.kernel_alive = False
        if now % cfg.cull_every_s == 0:
            for user, sv in list(servers.items()):
                if sv.session is not None:
                    continue  # the participant's visible tab calls the server's API: never idle
                inactive = timedelta(seconds=now - sv.last_activity_s)
                # arenahub.hub_config.culling.make_unattended_arbiter: the profile's rule, then the unattended one
                if arbiter(inactive=inactive, inactive_limit=cfg.server_timeout_s,
                           server={"state": {"profile": "gpu-quarter"}}) or (
                        cfg.unattended_s and inactive.total_seconds() >= cfg.unattended_s
                        and is_unattended(kernels_seen_by_culler(sv))):
                    del servers[user]
    return {
        "allocation": held / (capacity * WEEK_S), "utilisation": busy / held if held else 0.0,
        "busy_of_capacity": busy / (capacity * WEEK_S),
        "contended_h": contended_s / 3600,
        "contended_allocation": contended_held / (capacity * contended_s) if contended_s else 0.0,
        "contended_utilisation": contended_busy / contended_held if contended_held else 0.0,
        "sessions": len(sessions), "refused": refused, "idle_kernel_gib_h": idle_kernel_gib_h,
        # where allocated slice-time is not busy: thinking gaps of a sitting, or after the participant left
        "idle_in_session": (held - busy - walked_away) / held if held else 0.0,
        "idle_after_leaving": walked_away / held if held else 0.0,
    }


@dataclass(frozen=True)
class TrainJob:
    job_id: str
    user: str
    gpus: int
    arrive_s: float
    duration_s: float  # true run time; the planner never sees it
    limit_s: float = 0.0  # declared time limit (>= duration_s), what backfill plans with


ROUND_LIMITS_S = (3600.0, 2 * 3600.0, 4 * 3600.0, 8 * 3600.0, 12 * 3600.0)


def declare_limits(rng: random.Random, jobs: list[TrainJob]) -> list[TrainJob]:
    """The same jobs with the time limits participants declare: over-estimates, never below the run.

    True duration x U(1.0, 3.0) rounded up to the minute; half of the participants round that up
    again to the next of 1 h, 2 h, 4 h, 8 h, 12 h. A separate rng keeps the jobs themselves unchanged.
    """
    declared = []
    for job in jobs:
        limit = math.ceil(job.duration_s * rng.uniform(1.0, 3.0) / 60) * 60.0
        if rng.random() < 0.5:
            limit = next((r for r in ROUND_LIMITS_S if r >= limit), limit)
        declared.append(TrainJob(job.job_id, job.user, job.gpus, job.arrive_s, job.duration_s, max(limit, job.duration_s)))
    return declared


def make_jobs(rng: random.Random, users: int, per_hour: float) -> list[TrainJob]:
    """Poisson arrivals, more by day; 1/2/4/8 GPUs; log-normal durations (median 40 min, at most 8 h)."""
    jobs, t, n = [], 0.0, 0
    while t < WEEK_S:
        hour = (t % 86400) / 3600
        rate = per_hour * (1.5 if 9 <= hour < 23 else 0.4) / 3600
        t += rng.expovariate(rate)
        gpus = rng.choices([1, 2, 4, 8], [0.45, 0.25, 0.2, 0.1])[0]
        duration = min(8 * 3600.0, max(300.0, rng.lognormvariate(math.log(40 * 60), 0.9)))
        jobs.append(TrainJob(f"j{n}", f"u{rng.randrange(users)}", gpus, t, duration))
        n += 1
    return [j for j in jobs if j.arrive_s < WEEK_S]


TRAINING_POLICIES = (
    ("stock fifo-spread", FIFO_SPREAD),
    ("binpack drain (prev)", PlacementPolicy("binpack-drain", reservation="drain")),
    ("binpack+backfill", BINPACK),
)


def simulate_training(jobs: list[TrainJob], policy: PlacementPolicy, nodes: dict[str, int]) -> dict[str, float]:
    """Place jobs every minute with ``policy``; returns allocation, utilisation and waits."""
    capacity = sum(nodes.values())
    cluster = Cluster.from_sizes(nodes)
    by_id = {j.job_id: j for j in jobs}
    pending = list(reversed(jobs))
    queue: dict[str, TrainJob] = {}
    ends: dict[str, float] = {}
    usage: dict[str, float] = {}
    waits: list[float] = []
    held = contended_held = contended_s = 0.0
    for now in range(0, WEEK_S, STEP_S):
        for job_id, end in list(ends.items()):
            if end <= now:
                cluster = cluster.release(job_id)
                del ends[job_id]
        while pending and pending[-1].arrive_s <= now:
            job = pending.pop()
            queue[job.job_id] = job
        if queue:
            requests = [JobRequest(j.job_id, j.user, j.gpus, submitted_at=j.arrive_s, time_limit_s=j.limit_s or None)
                        for j in queue.values()]
            plan = make_plan(requests, cluster, usage, policy, float(now))
            for a in plan.assignments:
                job = queue.pop(a.job_id)
                cluster = cluster.allocate(a.job_id, job.user, a.node, a.gpu_indices,
                                           now + job.limit_s if job.limit_s else None)
                ends[a.job_id] = now + job.duration_s
                waits.append(now - job.arrive_s)
                usage[job.user] = usage.get(job.user, 0.0) + job.gpus * job.duration_s
        held_now = cluster.used_gpus
        held += held_now * STEP_S
        if queue:
            contended_s += STEP_S
            contended_held += held_now * STEP_S
    waits.sort()
    return {
        "allocation": held / (capacity * WEEK_S), "utilisation": JOB_DUTY,
        "busy_of_capacity": JOB_DUTY * held / (capacity * WEEK_S),
        "contended_h": contended_s / 3600,
        "contended_allocation": contended_held / (capacity * contended_s) if contended_s else 0.0,
        "contended_busy_of_capacity": JOB_DUTY * contended_held / (capacity * contended_s) if contended_s else 0.0,
        "jobs": len(jobs), "started": len(waits), "unfinished_queue": len(queue),
        "wait_p50_min": waits[len(waits) // 2] / 60 if waits else 0.0,
        "wait_p95_min": waits[int(len(waits) * 0.95)] / 60 if waits else 0.0,
        "gpu_h_done": sum(by_id[j].gpus * by_id[j].duration_s for j in by_id if j not in queue) / 3600,
    }


def preemption_whatifs(
    shares: list[float], every_s: float, restart_s: float, after_s: float, guarded: bool = True
) -> list[PreemptionWhatIf]:
    """The what-if rows: each rule alone and both together, for each share of checkpointing jobs."""
    rows = []
    guards = {} if guarded else {"victims_behind_only": False, "min_run_s": 0.0}
    for share in shares:
        rows += [
            PreemptionWhatIf(f"(i) backfilled, {share:.0%} ckpt", share, True, None, every_s, restart_s),
            PreemptionWhatIf(f"(ii) whole-node, {share:.0%} ckpt", share, False, after_s, every_s, restart_s, **guards),
            PreemptionWhatIf(f"(i)+(ii), {share:.0%} ckpt", share, True, after_s, every_s, restart_s, **guards),
        ]
    return rows


def print_preemption_whatifs(jobs: list[TrainJob], args: argparse.Namespace) -> None:
    """Print the training pool under binpack+backfill with each preemption what-if."""
    shares = [float(x) for x in args.checkpoint_shares.split(",")]
    print(f"\ntraining pool what-if: preemption on binpack+backfill (checkpoint every {args.checkpoint_every_min:g} min, "
          f"reload {args.restart_min:g} min, whole-node jobs preempt after {args.preempt_after_min:g} min)\n"
          "                                allocation  busy/capacity  contended h  alloc|contended  busy|contended  "
          "wait p50 min  wait p95 min  started/jobs  preemptions  jobs preempted (max)  lost GPU-h")
    for whatif in preemption_whatifs(shares, args.checkpoint_every_min * 60, args.restart_min * 60,
                                     args.preempt_after_min * 60, not args.no_preemption_guards):
        r = simulate_training_whatif(jobs, BINPACK, {"node-a": 8, "node-b": 8}, whatif, seed=args.seed + 4,
                                     step_s=STEP_S, week_s=WEEK_S, duty=JOB_DUTY)
        print(f"  {whatif.name:<29} {r['allocation']:>9.1%} {r['busy_of_capacity']:>14.1%} {r['contended_h']:>11.1f} "
              f"{r['contended_allocation']:>16.1%} {r['contended_busy_of_capacity']:>15.1%} "
              f"{r['wait_p50_min']:>13.0f} {r['wait_p95_min']:>13.0f} {r['started']:>8}/{r['jobs']} "
              f"{r['preemptions']:>12} {r['jobs_preempted']:>15} ({r['most_preemptions']}) {r['lost_gpu_h']:>11.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--coding-gpus", type=int, default=8)
    parser.add_argument("--jobs-per-hour", type=float, default=5.0)
    parser.add_argument("--tab-left-open", type=float, default=0.5,
                        help="share of sittings that end with the notebook tab left open (hidden), not closed")
    parser.add_argument("--training-only", action="store_true", help="skip the coding pool")
    parser.add_argument("--preemption", action="store_true",
                        help="add what-if rows for the training pool with checkpoint-and-requeue preemption")
    parser.add_argument("--checkpoint-shares", default="0.5,1.0",
                        help="comma-separated shares of training jobs that checkpoint (with --preemption)")
    parser.add_argument("--checkpoint-every-min", type=float, default=10.0,
                        help="minutes of work between checkpoints; a preempted job loses the work since its last")
    parser.add_argument("--restart-min", type=float, default=1.0, help="minutes a preempted job spends reloading")
    parser.add_argument("--preempt-after-min", type=float, default=30.0,
                        help="minutes a whole-node job waits before it may preempt checkpointing jobs")
    parser.add_argument("--no-preemption-guards", action="store_true",
                        help="let waiting jobs preempt any checkpointing job at any age (shows the circles)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    sessions = mark_tabs_left_open(random.Random(args.seed + 3), make_sessions(random.Random(args.seed), args.users),
                                   args.tab_left_open)
    jobs = declare_limits(random.Random(args.seed + 2), make_jobs(random.Random(args.seed + 1), args.users, args.jobs_per_hour))
    print(f"trace: seed {args.seed}, {args.users} participants, {len(sessions)} notebook sessions, "
          f"{len(jobs)} training jobs; coding pool {args.coding_gpus} GPUs in 0.25 slices, training 2 x 8 GPUs")
    if not args.training_only:
        print(f"\ncoding pool ({args.tab_left_open:.0%} of sittings end with the tab left open)\n"
              "                       allocation  util(busy/alloc)  busy/capacity  contended h  "
              "alloc|contended  util|contended  refused sessions  idle-kernel GiB-h  idle in sitting  idle after leaving")
    for cfg in () if args.training_only else (STOCK_CODING, ARENAHUB_CODING):
        r = simulate_coding(sessions, cfg, args.coding_gpus)
        print(f"  {cfg.name:<20} {r['allocation']:>9.1%} {r['utilisation']:>16.1%} {r['busy_of_capacity']:>14.1%} "
              f"{r['contended_h']:>11.1f} {r['contended_allocation']:>16.1%} {r['contended_utilisation']:>15.1%} "
              f"{r['refused']:>8}/{r['sessions']:<8} {r['idle_kernel_gib_h']:>17.0f} {r['idle_in_session']:>16.1%} "
              f"{r['idle_after_leaving']:>19.1%}")
    print("\ntraining pool          allocation  busy/capacity  contended h  alloc|contended  busy|contended  "
          "wait p50 min  wait p95 min  started/jobs")
    for name, policy in TRAINING_POLICIES:
        r = simulate_training(jobs, policy, {"node-a": 8, "node-b": 8})
        print(f"  {name:<20} {r['allocation']:>9.1%} {r['busy_of_capacity']:>14.1%} {r['contended_h']:>11.1f} "
              f"{r['contended_allocation']:>16.1%} {r['contended_busy_of_capacity']:>15.1%} "
              f"{r['wait_p50_min']:>13.0f} {r['wait_p95_min']:>13.0f} {r['started']:>8}/{r['jobs']}")
    if args.preemption:
        print_preemption_whatifs(jobs, args)
    print(f"\nsimulated in {time.perf_counter() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
