"""GPU-second quotas: the append-only ledger, quota periods and the decisions built on them (pure)."""

from arenahub.quota.decisions import (
    ALLOWED,
    QuotaDecision,
    Usage,
    decide_gpu_budget,
    decide_spawn,
    decide_strictest,
    decide_submission,
    decide_window,
    gpu_left_s,
    gpu_period,
    is_low,
    must_stop,
    scope_label,
)
from arenahub.quota.ledger import GpuLedger, LedgerEntry, charge_key, make_charge, overlap_gpu_s, resum_gpu_s
from arenahub.quota.periods import day_bounds, format_utc, iso_utc, week_bounds

__all__ = [
    "ALLOWED", "GpuLedger", "LedgerEntry", "QuotaDecision", "Usage", "charge_key", "day_bounds",
    "decide_gpu_budget", "decide_spawn", "decide_strictest", "decide_submission", "decide_window", "format_utc", "gpu_left_s",
    "gpu_period", "is_low", "iso_utc", "make_charge", "must_stop", "scope_label", "overlap_gpu_s", "resum_gpu_s", "week_bounds",
]
