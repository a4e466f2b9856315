"""Quota decisions: may this job be submitted, this notebook spawned, must this run stop (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from arenahub.core.quota_config import CompetitionWindow, QuotaConfig
from arenahub.quota.periods import day_bounds, format_utc, week_bounds


@dataclass(frozen=True)
class Usage:
    """What a user has used that limits count, as the gateway loaded it for one decision.

    ``gpu_seconds`` is the use inside the current period (the week, or the rolling window);
    ``gpu_reset_at`` is when enough of it frees up (the period's end, or the rolling expiry).
    """

    gpu_seconds: float = 0.0
    gpu_reset_at: float | None = None
    gpus_active: int = 0
    submissions_today: int = 0
    submissions_total: int = 0


@dataclass(frozen=True)
class QuotaDecision:
    """Allowed, or refused with a stable ``reason``, a ``message`` for the participant, an HTTP status and a reset time."""

    allowed: bool
    reason: str = "ok"
    message: str = ""
    status: int = 200
    resets_at: float | None = None
    limit: str = ""  # whose limit refused: "site" or "competition <id>" (set by decide_strictest)


ALLOWED = QuotaDecision(allowed=True)


def gpu_period(config: QuotaConfig, now: float) -> tuple[float, float | None]:
    """[start, reset) of the GPU period holding ``now``; the reset is None for a rolling window (it depends on use)."""
    if config.period == "week":
        return week_bounds(now)
    return now - config.window_s, None


def gpu_left_s(config: QuotaConfig, usage: Usage) -> float | None:
    """GPU-seconds left in the period (never negative), None when unlimited."""
    budget = config.gpu_seconds
    return None if budget is None else max(budget - usage.gpu_seconds, 0.0)


def _period_words(config: QuotaConfig) -> str:
    return "this week" if config.period == "week" else f"in the last {config.rolling_window_hours:g} hours"


def _resets(ts: float | None) -> str:
    return f"; it resets {format_utc(ts)}" if ts is not None else ""


def decide_window(window: CompetitionWindow, now: float) -> QuotaDecision:
    """Refuse (403) before the competition opens and after it closes."""
    if window.opens_ts is not None and now < window.opens_ts:
        return QuotaDecision(
            False, "competition-not-open",
            f"The competition opens {format_utc(window.opens_ts)}; submissions are accepted from then on.",
            403, window.opens_ts,
        )
    if window.closes_ts is not None and now >= window.closes_ts:
        return QuotaDecision(
            False, "competition-closed",
            f"The competition closed {format_utc(window.closes_ts)}; it accepts no more submissions.",
            403, None,
        )
    return ALLOWED


def decide_gpu_budget(config: QuotaConfig, usage: Usage, *, what: str) -> QuotaDecision:
    """Refuse (429) when no GPU time is left in the period; ``what`` names the action ('start a job')."""
    left = gpu_left_s(config, usage)
    if left is None or left > 0:
        return ALLOWED
    return QuotaDecision(
        False, "quota-gpu-hours",
        f"You cannot {what}: you have used your {config.gpu_hours:g} GPU-hours {_period_words(config)}"
        f"{_resets(usage.gpu_reset_at)}.",
        429, usage.gpu_reset_at,
    )


def decide_submission(
    config: QuotaConfig, window: CompetitionWindow, usage: Usage, *, kind: str, gpus: int, time_limit_s: float, now: float
) -> QuotaDecision:
    """May a ``kind`` ("train"/"test") job on ``gpus`` GPUs with ``time_limit_s`` be queued now?

    Checks in order: competition window (403), per-run time limit, GPU budget, concurrent GPUs,
    test submissions per day and in total (429). The first failing check decides.
    """
    decision = decide_window(window, now)
    if not decision.allowed:
        return decision
    if config.max_run_hours is not None and time_limit_s > config.max_run_hours * 3600:
        return QuotaDecision(
            False, "quota-run-time",
            f"This run asks for a {time_limit_s / 3600:g}-hour time limit; one run may take at most "
            f"{config.max_run_hours:g} hours here. Lower time_limit_s to {int(config.max_run_hours * 3600)} or less.",
            429, None,
        )
    decision = decide_gpu_budget(config, usage, what="start a job")
    if not decision.allowed:
        return decision
    if config.max_concurrent_gpus is not None and usage.gpus_active + gpus > config.max_concurrent_gpus:
        return QuotaDecision(
            False, "quota-concurrent-gpus",
            f"This job asks for {gpus} GPUs while your queued and running jobs hold {usage.gpus_active}; "
            f"you may use at most {config.max_concurrent_gpus} at once. Wait for a job to finish or cancel one.",
            429, None,
        )
    if kind == "test":
        if config.submissions_total is not None and usage.submissions_total >= config.submissions_total:
            return QuotaDecision(
                False, "quota-submissions-total",
                f"You have made all {config.submissions_total} test submissions this competition allows.",
                429, None,
            )
        if config.submissions_per_day is not None and usage.submissions_today >= config.submissions_per_day:
            tomorrow = day_bounds(now)[1]
            return QuotaDecision(
                False, "quota-submissions-daily",
                f"You have made your {config.submissions_per_day} test submissions for today{_resets(tomorrow)}.",
                429, tomorrow,
            )
    return ALLOWED


def decide_spawn(config: QuotaConfig, usage: Usage, *, gpu_fraction: float) -> QuotaDecision:
    """May a notebook on ``gpu_fraction`` of a GPU start? CPU-only notebooks always may."""
    if gpu_fraction <= 0:
        return ALLOWED
    return decide_gpu_budget(config, usage, what="start a GPU notebook")


def must_stop(config: QuotaConfig, usage: Usage) -> bool:
    """True when the period's GPU budget is used up, so running jobs of the user stop."""
    left = gpu_left_s(config, usage)
    return left is not None and left <= 0


def is_low(config: QuotaConfig, usage: Usage) -> bool:
    """True when less than ``low_quota_fraction`` of the GPU budget is left (and the warning is on)."""
    budget, left = config.gpu_seconds, gpu_left_s(config, usage)
    return budget is not None and left is not None and config.low_quota_fraction > 0 and left < budget * config.low_quota_fraction


def scope_label(competition: str) -> str:
    """How a refusal names whose limit it is: ``competition <id>``, or ``site`` for the site-wide defaults."""
    return f"competition {competition}" if competition else "site"


def decide_strictest(decisions: Sequence[tuple[str, QuotaDecision]]) -> QuotaDecision:
    """One decision from those of every scope a job counts in (``(competition id or "", decision)`` pairs).

    Allowed only when every scope allows. Among refusals the stricter wins: a closed window (403)
    first, then the one that frees up last (no reset time counts as latest). The refusal's message
    names the limit's owner (the competition's or the site-wide one) and ``limit`` records it.
    """
    refusals = [(competition, d) for competition, d in decisions if not d.allowed]
    if not refusals:
        return ALLOWED

    def strictness(item: tuple[str, QuotaDecision]) -> tuple[bool, float]:
        decision = item[1]
        return decision.status == 403, float("inf") if decision.resets_at is None else decision.resets_at

    competition, decision = max(refusals, key=strictness)  # max keeps the first of equals: the competition's
    owner = f"Limit of competition {competition!r}" if competition else "Site-wide limit"
    return replace(decision, message=f"{decision.message} ({owner}.)", limit=scope_label(competition))
