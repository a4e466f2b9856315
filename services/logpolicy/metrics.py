"""The metric channel's caps: names, points per second and per job, rounding, declared bits."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from arenahub.core.metricline import MetricPoint
from arenahub.logpolicy.policy import MetricCaps

# Characters a metric name may use (arenahub.core.metricline.METRIC_NAME_PATTERN): 66 symbols.
_NAME_ALPHABET = 66
# Rounded values keep decimal exponents in [-30, 29]; smaller become 0, larger become +-inf.
_MIN_EXPONENT, _MAX_EXPONENT = -30, 29


class TokenBucket:
    """A rate cap: ``rate_per_s`` sustained, ``burst`` at once; time comes in as ``now``."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate_per_s = rate_per_s
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated: float | None = None

    def try_take(self, count: int, now: float) -> bool:
        """Take ``count`` tokens if there are that many (after refilling up to ``now``)."""
        if self.updated is not None and now > self.updated:
            self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate_per_s)
        if self.updated is None or now > self.updated:
            self.updated = now
        if self.tokens >= count:
            self.tokens -= count
            return True
        return False

    def available(self, now: float) -> int:
        """Whole tokens available at ``now`` (refills like try_take, takes none)."""
        self.try_take(0, now)
        return int(self.tokens)


def round_value(value: float, digits: int) -> float:
    """``value`` kept to ``digits`` significant digits and the exponent range [-30, 29]."""
    if math.isnan(value) or math.isinf(value) or value == 0:
        return 0.0 if value == 0 else value
    rounded = float(f"{value:.{digits - 1}e}")
    if abs(rounded) < 10.0**_MIN_EXPONENT:
        return 0.0
    if abs(rounded) >= 10.0 ** (_MAX_EXPONENT + 1):
        return math.copysign(math.inf, rounded)
    return rounded


def value_bits(digits: int) -> float:
    """Bits one rounded value can carry: sign, mantissa, exponent, plus 0, NaN and +-inf."""
    mantissas = 9 * 10 ** (digits - 1)
    exponents = _MAX_EXPONENT - _MIN_EXPONENT + 1
    return math.log2(2 * mantissas * exponents + 4)


def metric_channel_bits(caps: MetricCaps) -> int:
    """Upper bound on the bits a job can move through metric lines under ``caps``.

    Counts every name's characters, and for every point its value, which name it goes to,
    and its step (each point may sit on its own line). Timing is not counted.
    """
    names = caps.max_names * caps.max_name_chars * math.log2(_NAME_ALPHABET + 1)
    per_point = value_bits(caps.significant_digits) + math.log2(caps.max_names + 1) + math.log2(caps.max_step + 1)
    return math.ceil(names + caps.max_points_per_job * per_point)


@dataclass(frozen=True)
class MetricAdmission:
    """What the channel let through of one point (None: nothing) and why anything was dropped."""

    point: MetricPoint | None
    reason: str = ""


class MetricChannel:
    """Applies one job's metric caps in order; remembers names, points and the rate bucket."""

    def __init__(self, caps: MetricCaps, *, is_replay: bool = False) -> None:
        """``is_replay``: a recorded log without timing, so the per-second cap is off."""
        self.caps = caps
        self._name_re = re.compile(caps.name_pattern)
        self.names: list[str] = []
        self.points = 0
        self._bucket = None if is_replay else TokenBucket(caps.max_points_per_s, caps.burst_points)

    def admit(self, point: MetricPoint, now: float) -> MetricAdmission:
        """The capped, rounded point; ``reason`` names the first cap that dropped something."""
        caps = self.caps
        if point.step > caps.max_step:
            return MetricAdmission(None, "metric-step")
        reason = ""
        kept: dict[str, float] = {}
        new_names: list[str] = []
        for name, value in point.values.items():
            if len(name) > caps.max_name_chars or not self._name_re.fullmatch(name):
                reason = reason or "metric-name"
                continue
            if name not in self.names and name not in new_names:
                if len(self.names) + len(new_names) >= caps.max_names:
                    reason = reason or "metric-names-cap"
                    continue
                new_names.append(name)
            kept[name] = round_value(value, caps.significant_digits)
        if not kept:
            return MetricAdmission(None, reason)
        if self.points + len(kept) > caps.max_points_per_job:
            return MetricAdmission(None, "metric-points-cap")
        if self._bucket is not None and not self._bucket.try_take(len(kept), now):
            return MetricAdmission(None, "metric-rate")
        self.points += len(kept)
        self.names.extend(new_names)
        return MetricAdmission(MetricPoint(point.step, kept), reason)
