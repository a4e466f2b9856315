"""The GPU-second ledger: append-only charge entries and fast window sums over them (pure, no I/O)."""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

SOURCES = ("job", "notebook")


@dataclass(frozen=True)
class LedgerEntry:
    """GPU time one job or notebook used in [start, end): ``gpu_fraction`` GPUs held over that span.

    ``gpu_fraction`` is 2.0 for a job on two whole GPUs and 0.25 for a notebook on a quarter
    slice. ``key`` makes the entry idempotent: a second entry with the same key is a duplicate.
    Times are Unix seconds.
    """

    user: str
    competition: str
    source: str
    source_id: str
    gpu_fraction: float
    start: float
    end: float
    key: str

    @property
    def gpu_seconds(self) -> float:
        """GPU-seconds this entry charges (fraction x seconds)."""
        return self.gpu_fraction * (self.end - self.start)


def charge_key(source: str, source_id: str, start: float) -> str:
    """The idempotency key of the charge of ``source_id`` that starts at ``start`` (millisecond precision).

    A charger that resumes from the same committed cursor builds the same key again, so a
    repeated charge is refused by the ledger's unique key instead of counted twice.
    """
    return f"{source}:{source_id}@{round(start * 1000)}"


def make_charge(
    *, user: str, competition: str, source: str, source_id: str, gpu_fraction: float,
    charged_until: float, until: float,
) -> LedgerEntry | None:
    """The entry that moves a source's charge cursor from ``charged_until`` to ``until``; None if nothing to charge.

    Raises ValueError for an unknown source or a negative fraction.
    """
    if source not in SOURCES:
        raise ValueError(f"Unknown ledger source {source!r}; valid: {', '.join(SOURCES)}.")
    if gpu_fraction < 0:
        raise ValueError(f"gpu_fraction must be 0 or more, got {gpu_fraction}.")
    if until <= charged_until:
        return None
    return LedgerEntry(
        user=user, competition=competition, source=source, source_id=source_id, gpu_fraction=gpu_fraction,
        start=charged_until, end=until, key=charge_key(source, source_id, charged_until),
    )


def overlap_gpu_s(entry: LedgerEntry, since: float, until: float) -> float:
    """GPU-seconds of ``entry`` inside [since, until)."""
    seconds = min(entry.end, until) - max(entry.start, since)
    return entry.gpu_fraction * seconds if seconds > 0 else 0.0


@dataclass
class _Account:
    """One user's entries in one competition, sorted by end, with running sums of GPU-seconds."""

    entries: list[LedgerEntry] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)
    cumulative: list[float] = field(default_factory=lambda: [0.0])  # cumulative[i] = sum of entries[:i]
    longest_s: float = 0.0

    def add(self, entry: LedgerEntry) -> None:
        at = bisect.bisect_right(self.ends, entry.end)
        self.entries.insert(at, entry)
        self.ends.insert(at, entry.end)
        self.longest_s = max(self.longest_s, entry.end - entry.start)
        if at == len(self.entries) - 1:  # the usual case: charges arrive in time order
            self.cumulative.append(self.cumulative[-1] + entry.gpu_seconds)
            return
        del self.cumulative[at + 1:]
        for later in self.entries[at:]:
            self.cumulative.append(self.cumulative[-1] + later.gpu_seconds)

    def used(self, since: float, until: float) -> float:
        # Entries ending in (since, until] count fully, less the part before `since` of those that
        # straddle it; entries ending after `until` count for their part before `until`. Only
        # entries within `longest_s` of either edge can straddle it, so this is O(log n + edge).
        if until <= since:
            return 0.0
        first = bisect.bisect_right(self.ends, since)
        past = bisect.bisect_right(self.ends, until)
        total = self.cumulative[past] - self.cumulative[first]
        for i in range(first, past):
            entry = self.entries[i]
            if entry.end - self.longest_s > since:
                break
            if entry.start < since:
                total -= entry.gpu_fraction * (since - entry.start)
        for i in range(past, len(self.entries)):
            entry = self.entries[i]
            if entry.end - self.longest_s >= until:
                break
            total += overlap_gpu_s(entry, since, until)
        return max(total, 0.0)


class GpuLedger:
    """An in-memory index of ledger entries per (user, competition): O(log n) window sums.

    ``charge`` refuses an entry whose key it has seen, so replaying entries is harmless, and
    ``used_gpu_s`` over all time always equals the plain re-sum of the accepted entries.
    """

    def __init__(self, entries: Iterable[LedgerEntry] = ()) -> None:
        self._accounts: dict[tuple[str, str], _Account] = {}
        self._keys: set[str] = set()
        for entry in entries:
            self.charge(entry)

    def __len__(self) -> int:
        return len(self._keys)

    def charge(self, entry: LedgerEntry) -> bool:
        """Record ``entry``; False (and nothing recorded) when its key was charged before.

        Raises ValueError for an entry that ends before it starts or has a negative fraction.
        """
        if entry.end < entry.start or entry.gpu_fraction < 0:
            raise ValueError(f"Ledger entry {entry.key} has a negative duration or fraction: {entry}.")
        if entry.key in self._keys:
            return False
        self._keys.add(entry.key)
        self._accounts.setdefault((entry.user, entry.competition), _Account()).add(entry)
        return True

    def used_gpu_s(self, user: str, competition: str | None, since: float, until: float) -> float:
        """GPU-seconds ``user`` used in ``competition`` (None: in all of them) inside [since, until)."""
        if competition is None:
            return sum(a.used(since, until) for (u, _), a in self._accounts.items() if u == user)
        account = self._accounts.get((user, competition))
        return 0.0 if account is None else account.used(since, until)

    def total_gpu_s(self, user: str, competition: str) -> float:
        """Every GPU-second ``user`` was charged in ``competition``."""
        account = self._accounts.get((user, competition))
        return 0.0 if account is None else account.cumulative[-1]

    def entries(self, user: str, competition: str) -> list[LedgerEntry]:
        """The user's entries in ``competition``, ordered by end time (a copy)."""
        account = self._accounts.get((user, competition))
        return [] if account is None else list(account.entries)

    def rolling_reset_at(self, user: str, competition: str | None, *, window_s: float, limit_gpu_s: float, now: float) -> float:
        """The first moment (>= now) at which the rolling window's use drops below ``limit_gpu_s``.

        Assumes no new use from now on, which is what a refused user is told. Precise to 1 s.
        """
        if self.used_gpu_s(user, competition, now - window_s, now) < limit_gpu_s:
            return now
        low, high = now, now + window_s  # at now + window_s every entry has aged out
        while high - low > 1.0:
            middle = (low + high) / 2
            if self.used_gpu_s(user, competition, middle - window_s, now) < limit_gpu_s:
                high = middle
            else:
                low = middle
        return high


def resum_gpu_s(entries: Iterable[LedgerEntry], since: float, until: float) -> float:
    """GPU-seconds of ``entries`` inside [since, until) by plain re-summing (the reference the index must match)."""
    return sum(overlap_gpu_s(entry, since, until) for entry in entries)
