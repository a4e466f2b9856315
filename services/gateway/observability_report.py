"""Allocated vs used GPU-hours per profile, user and competition, from job records, the ledger and GPU samples (pure)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DIMENSIONS = ("profile", "user", "competition")


@dataclass(frozen=True)
class Holding:
    """GPUs one job or notebook held over [start, end): 2.0 for two whole GPUs, 0.25 for a quarter slice."""

    kind: str
    key: str
    user: str
    competition: str
    profile: str
    gpus: float
    start: float
    end: float


@dataclass(frozen=True)
class UsageSample:
    """One sampler record (``gpu-samples/*.jsonl``): held and busy GPU-equivalents of one owner over ``interval_s``."""

    kind: str
    key: str
    user: str
    competition: str
    profile: str
    t: float
    interval_s: float
    allocated_gpus: float
    used_gpus: float | None


@dataclass(frozen=True)
class UtilisationRow:
    """One line of the report. ``used_gpu_h`` counts measured time only; ``sampled_gpu_h`` is the allocation it covers."""

    dimension: str
    key: str
    allocated_gpu_h: float
    sampled_gpu_h: float
    used_gpu_h: float

    @property
    def utilisation(self) -> float | None:
        """Used / allocated over the sampled time (0-1), None where nothing was sampled."""
        return self.used_gpu_h / self.sampled_gpu_h if self.sampled_gpu_h > 0 else None


def _overlap_s(start: float, end: float, since: float, until: float) -> float:
    return max(0.0, min(end, until) - max(start, since))


def holdings_from_samples(samples: Iterable[UsageSample]) -> list[Holding]:
    """Each sample as a holding of ``allocated_gpus`` over the interval that ends at its time."""
    return [Holding(s.kind, s.key, s.user, s.competition, s.profile, s.allocated_gpus, s.t - s.interval_s, s.t)
            for s in samples]


def build_utilisation(
    holdings: Sequence[Holding], samples: Sequence[UsageSample], since: float, until: float
) -> list[UtilisationRow]:
    """Rows per profile, user and competition (in that order, largest allocation first) for [since, until).

    Allocation comes from ``holdings``; use only from samples with a known busy figure, whose
    own allocation is ``sampled_gpu_h``, so utilisation is never diluted by unmeasured time.
    """
    rows: list[UtilisationRow] = []
    for dimension in DIMENSIONS:
        allocated: dict[str, float] = {}
        sampled: dict[str, float] = {}
        used: dict[str, float] = {}
        for h in holdings:
            key = getattr(h, dimension) or "(none)"
            allocated[key] = allocated.get(key, 0.0) + h.gpus * _overlap_s(h.start, h.end, since, until) / 3600
        for s in samples:
            if s.used_gpus is None:
                continue
            share = _overlap_s(s.t - s.interval_s, s.t, since, until) / 3600
            key = getattr(s, dimension) or "(none)"
            sampled[key] = sampled.get(key, 0.0) + s.allocated_gpus * share
            used[key] = used.get(key, 0.0) + min(s.used_gpus, s.allocated_gpus) * share
            allocated.setdefault(key, 0.0)
        for key in sorted(allocated, key=lambda k: (-allocated[k], k)):
            rows.append(UtilisationRow(dimension, key, allocated[key], sampled.get(key, 0.0), used.get(key, 0.0)))
    return rows


def format_csv(rows: Iterable[UtilisationRow]) -> str:
    """The rows as CSV text with a header; utilisation empty where nothing was sampled."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["dimension", "key", "allocated_gpu_hours", "sampled_gpu_hours", "used_gpu_hours", "utilisation"])
    for r in rows:
        util = "" if r.utilisation is None else f"{r.utilisation:.4f}"
        writer.writerow([r.dimension, r.key, f"{r.allocated_gpu_h:.4f}", f"{r.sampled_gpu_h:.4f}",
                         f"{r.used_gpu_h:.4f}", util])
    return out.getvalue()


def parse_since(text: str) -> float:
    """Seconds in a span such as ``7d``, ``36h``, ``90m`` or ``3600s``; raises ValueError naming the valid units."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units or not text[:-1].replace(".", "", 1).isdigit():
        raise ValueError(f"{text!r} is not a time span; write a number and a unit: 7d, 36h, 90m or 3600s.")
    return float(text[:-1]) * units[text[-1]]
