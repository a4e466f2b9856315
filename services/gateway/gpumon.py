"""GPU monitoring, pure part: NVML readings in, per-GPU and per-owner (notebook server or job) usage out.

The thin reader in ``gpumon_nvml`` turns NVML and ``/proc`` into these plain values; nothing here
touches the driver, so recorded readings drive the tests. A process on a GPU belongs to the
notebook server or job whose root process (the spawner's bubblewrap pid, the job's supervisor
pid) is its ancestor.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

GIB = 1024**3
OwnerKind = Literal["notebook", "job"]
MAX_ANCESTRY = 64  # deeper process trees than this are not followed (a loop in a damaged table)


@dataclass(frozen=True)
class GpuReading:
    """One GPU as NVML saw it: busy percent over the last sample period (None if unknown) and memory."""

    index: int
    uuid: str
    name: str
    util_pct: float | None
    mem_used_bytes: int
    mem_total_bytes: int


@dataclass(frozen=True)
class ProcessReading:
    """One process using a GPU: host pid, memory it holds there, and its SM busy percent if NVML knows it."""

    gpu_index: int
    pid: int
    mem_used_bytes: int | None
    sm_util_pct: float | None = None


@dataclass(frozen=True)
class NvmlSnapshot:
    """Everything one sampling pass read. ``error`` says why there are no GPUs (no driver, no NVML)."""

    taken_at: float
    gpus: tuple[GpuReading, ...] = ()
    processes: tuple[ProcessReading, ...] = ()
    error: str = ""

    @property
    def has_gpus(self) -> bool:
        """True when NVML answered and reported at least one GPU."""
        return bool(self.gpus)


@dataclass(frozen=True)
class Owner:
    """A notebook server or a job that may run processes on GPUs.

    ``key``: ``user/server`` for a notebook server (``user/`` for the default one), the job id for
    a job. ``gpu_fraction``: the slice (0.25) or the number of whole GPUs (2.0) it holds.
    ``mem_limit_bytes``: the slice's memory cap (None for whole GPUs).
    """

    kind: OwnerKind
    key: str
    user: str
    root_pid: int
    gpu_fraction: float = 0.0
    gpu_indices: tuple[int, ...] = ()
    mem_limit_bytes: int | None = None
    profile: str = ""
    competition: str = ""


@dataclass(frozen=True)
class OwnerUsage:
    """What one owner used on one GPU in one sample: share of the whole GPU busy and memory held."""

    owner: Owner
    gpu_index: int
    util_ratio: float | None
    mem_used_bytes: int
    pids: tuple[int, ...] = field(default=())


def find_owner(pid: int, parents: Mapping[int, int], roots: Mapping[int, Owner]) -> Owner | None:
    """The owner whose root process is ``pid`` or one of its ancestors, else None.

    ``parents`` maps pid to parent pid (from ``/proc/<pid>/stat``); pid 1 and 0 end the walk.
    """
    seen = 0
    current: int | None = pid
    while current is not None and current > 1 and seen < MAX_ANCESTRY:
        owner = roots.get(current)
        if owner is not None:
            return owner
        current = parents.get(current)
        seen += 1
    return None


def attribute_usage(
    snapshot: NvmlSnapshot, parents: Mapping[int, int], owners: Iterable[Owner]
) -> tuple[list[OwnerUsage], list[ProcessReading]]:
    """Sum each owner's processes per GPU; returns (usages, processes that belong to nobody known).

    When NVML gives no per-process busy percent and an owner is the only one on its GPU, the
    GPU's own busy percent is that owner's; with several owners it stays unknown (None) rather
    than be guessed.
    """
    roots = {o.root_pid: o for o in owners}
    grouped: dict[tuple[str, int], list[ProcessReading]] = {}
    owner_of: dict[str, Owner] = {}
    strangers: list[ProcessReading] = []
    for proc in snapshot.processes:
        owner = find_owner(proc.pid, parents, roots)
        if owner is None:
            strangers.append(proc)
            continue
        owner_of[owner.key] = owner
        grouped.setdefault((owner.key, proc.gpu_index), []).append(proc)
    gpu_util = {g.index: g.util_pct for g in snapshot.gpus}
    holders_per_gpu: dict[int, set[str]] = {}
    for key, index in grouped:
        holders_per_gpu.setdefault(index, set()).add(key)
    usages = []
    for (key, index), procs in sorted(grouped.items()):
        known = [p.sm_util_pct for p in procs if p.sm_util_pct is not None]
        if known:
            util: float | None = min(1.0, sum(known) / 100)
        elif len(holders_per_gpu[index]) == 1 and gpu_util.get(index) is not None:
            util = min(1.0, (gpu_util[index] or 0.0) / 100)
        else:
            util = None
        mem = sum(p.mem_used_bytes or 0 for p in procs)
        usages.append(OwnerUsage(owner_of[key], index, util, mem, tuple(sorted(p.pid for p in procs))))
    return usages, strangers


@dataclass(frozen=True)
class SliceStatus:
    """What a participant's panel shows about their notebook slice or a job's GPUs."""

    kind: OwnerKind
    key: str
    gpu_fraction: float
    busy_ratio: float | None  # busy share of what the owner holds (its slice, or its whole GPUs)
    mem_used_bytes: int
    mem_limit_bytes: int | None
    message: str


def make_slice_status(owner: Owner, usages: Sequence[OwnerUsage], *, gpus: Sequence[GpuReading] = ()) -> SliceStatus:
    """Sum ``owner``'s usage over its GPUs into one line such as "your slice: 31 % busy, 5.2 / 8 GiB".

    Busy is relative to what the owner holds: a 0.25 slice whose processes keep a quarter of
    the GPU busy is 100 % busy (MPS caps it near there). Memory limit: the slice's cap, or the
    GPUs' memory for whole-GPU owners (None when unknown).
    """
    mine = [u for u in usages if u.owner.key == owner.key and u.owner.kind == owner.kind]
    mem = sum(u.mem_used_bytes for u in mine)
    limit = owner.mem_limit_bytes
    if limit is None:
        totals = [g.mem_total_bytes for g in gpus if g.index in owner.gpu_indices]
        limit = sum(totals) if totals else None
    utils = [u.util_ratio for u in mine]
    busy: float | None
    if not mine:
        busy = 0.0
    elif any(u is None for u in utils) or owner.gpu_fraction <= 0:
        busy = None
    else:
        busy = min(1.0, sum(u for u in utils if u is not None) / owner.gpu_fraction)
    what = "your slice" if owner.kind == "notebook" else f"job {owner.key}"
    busy_text = "busy unknown" if busy is None else f"{busy * 100:.0f} % busy"
    mem_text = f"{mem / GIB:.1f} / {limit / GIB:.0f} GiB" if limit else f"{mem / GIB:.1f} GiB"
    return SliceStatus(owner.kind, owner.key, owner.gpu_fraction, busy, mem, limit,
                       f"{what}: {busy_text}, {mem_text}")


def no_gpu_message(snapshot: NvmlSnapshot) -> str:
    """The sentence shown when there is nothing to report, saying why."""
    if snapshot.error:
        return f"No GPU readings on this machine: {snapshot.error}."
    return "No GPU readings on this machine: NVML reports no GPUs."


@dataclass(frozen=True)
class UsageRecord:
    """One line of the sample log (``gpu-samples/<day>.jsonl``): what one owner held and used over one interval."""

    t: float
    interval_s: float
    kind: OwnerKind
    key: str
    user: str
    profile: str
    competition: str
    allocated_gpus: float  # slice fraction, or whole GPUs
    used_gpus: float | None  # busy GPU-equivalents: 0.31 of one GPU busy = 0.31; None if unknown
    mem_used_bytes: int


def make_usage_records(
    snapshot: NvmlSnapshot, owners: Sequence[Owner], usages: Sequence[OwnerUsage], interval_s: float
) -> list[UsageRecord]:
    """One record per owner holding GPUs, idle ones included (they hold a slice and use 0 of it)."""
    by_key: dict[tuple[str, str], list[OwnerUsage]] = {}
    for usage in usages:
        by_key.setdefault((usage.owner.kind, usage.owner.key), []).append(usage)
    records = []
    for owner in owners:
        if owner.gpu_fraction <= 0:
            continue
        mine = by_key.get((owner.kind, owner.key), [])
        utils = [u.util_ratio for u in mine]
        used = None if any(u is None for u in utils) else sum(u for u in utils if u is not None)
        records.append(UsageRecord(
            t=snapshot.taken_at, interval_s=interval_s, kind=owner.kind, key=owner.key, user=owner.user,
            profile=owner.profile, competition=owner.competition, allocated_gpus=owner.gpu_fraction,
            used_gpus=used, mem_used_bytes=sum(u.mem_used_bytes for u in mine),
        ))
    return records


def owners_from_hub_users(users: Iterable[Mapping[str, object]]) -> list[Owner]:
    """Notebook servers holding a GPU slice, from the hub's ``GET /users?state=active`` reply.

    The reply shows each server's spawner ``state`` (pid, slice, profile) to a token with the
    ``admin:server_state`` scope; servers without a pid or without a slice hold no GPU.
    """
    owners = []
    for user in users:
        servers = user.get("servers") or {}
        if not isinstance(servers, Mapping):
            continue
        for name, server in servers.items():
            state = (server or {}).get("state") or {}
            slice_ = state.get("slice") or {}
            pid = state.get("pid")
            if not pid or not slice_:
                continue
            owners.append(Owner(
                kind="notebook", key=f"{user.get('name')}/{name}", user=str(user.get("name")), root_pid=int(pid),
                gpu_fraction=float(slice_.get("fraction", 0.0)), gpu_indices=(int(slice_.get("gpu_index", 0)),),
                mem_limit_bytes=int(slice_["mem_limit_mib"]) * 1024**2 if slice_.get("mem_limit_mib") else None,
                profile=str(state.get("profile", "")),
            ))
    return owners


def owner_from_job(
    *, job_id: str, user: str, supervisor_pid: int, gpus: Sequence[int], competition: str = ""
) -> Owner:
    """A running job as an owner: its supervisor is the root of its processes."""
    return Owner(kind="job", key=job_id, user=user, root_pid=supervisor_pid, gpu_fraction=float(len(gpus)),
                 gpu_indices=tuple(gpus), profile=f"job-{len(gpus)}gpu", competition=competition)
