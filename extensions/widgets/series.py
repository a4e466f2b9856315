"""Metric series for the live plot: points per metric name, and decimation for cheap redraws (pure).

The plot never draws more than ``max_points`` per line: above that, each bucket of steps keeps
its first, lowest, highest and last point, so spikes stay visible while the browser draws a
bounded number of points however long the run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any


class MetricSeries:
    """Points (step, value) per metric name, in arrival order, with a version for change tracking."""

    def __init__(self) -> None:
        self.steps: dict[str, list[float]] = {}
        self.values: dict[str, list[float]] = {}
        self.cursor = 0  # the gateway's metrics cursor: ask for after=cursor next time
        self.version = 0

    def add_rows(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add gateway metric rows ({cursor, step, name, value}); returns how many were new."""
        added = 0
        for row in rows:
            cursor = int(row.get("cursor", 0))
            if cursor and cursor <= self.cursor:
                continue
            self.cursor = max(self.cursor, cursor)
            name = str(row["name"])
            self.steps.setdefault(name, []).append(float(row["step"]))
            self.values.setdefault(name, []).append(float(row["value"]))
            added += 1
        if added:
            self.version += 1
        return added

    @property
    def names(self) -> list[str]:
        """Metric names in the order they first appeared."""
        return list(self.steps)

    def point_count(self) -> int:
        """Points held, all metrics together."""
        return sum(len(v) for v in self.values.values())

    def snapshot(self) -> MetricSeries:
        """A copy that later additions do not change (for drawing outside a lock)."""
        copy = MetricSeries()
        copy.steps = {k: list(v) for k, v in self.steps.items()}
        copy.values = {k: list(v) for k, v in self.values.items()}
        copy.cursor, copy.version = self.cursor, self.version
        return copy

    def clear(self) -> None:
        """Forget every point (another job was selected)."""
        self.steps.clear()
        self.values.clear()
        self.cursor = 0
        self.version += 1


def decimate(xs: list[float], ys: list[float], max_points: int) -> tuple[list[float], list[float]]:
    """At most about ``max_points`` points of (xs, ys) that keep each bucket's first, min, max and last.

    Non-finite values (NaN, inf) are dropped: they cannot be drawn.
    """
    pairs = [(x, y) for x, y in zip(xs, ys) if math.isfinite(y)]
    if len(pairs) <= max_points:
        return [p[0] for p in pairs], [p[1] for p in pairs]
    buckets = max(1, max_points // 4)
    size = len(pairs) / buckets
    out: list[tuple[float, float]] = []
    for b in range(buckets):
        chunk = pairs[int(b * size): int((b + 1) * size)]
        if not chunk:
            continue
        keep = {0, len(chunk) - 1,
                min(range(len(chunk)), key=lambda i: chunk[i][1]),
                max(range(len(chunk)), key=lambda i: chunk[i][1])}
        out.extend(chunk[i] for i in sorted(keep))
    return [p[0] for p in out], [p[1] for p in out]
