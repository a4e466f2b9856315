"""Loading and saving quota state: which limits apply, a user's usage, and exactly-once charges with their cursors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from arenahub.core.quota_config import CompetitionWindow, QuotaConfig
from arenahub.gateway.competitionmodels import Competition
from arenahub.gateway.models import ACTIVE_STATUSES, FINAL_STATUSES, Job
from arenahub.gateway.quota_settings import QuotaSettings
from arenahub.gateway.quotamodels import ChargeCursor, LedgerRow
from arenahub.quota import GpuLedger, LedgerEntry, Usage, day_bounds, gpu_period, make_charge


@dataclass(frozen=True)
class QuotaScope:
    """The limits one decision follows: a competition's (``competition`` set) or the site default ("")."""

    competition: str
    config: QuotaConfig
    window: CompetitionWindow
    dataset: str | None = None  # test jobs on this dataset are the competition's submissions


def make_competition_scope(row: Competition) -> QuotaScope:
    """The limits and window of a stored competition (closed early when an organiser closed it)."""
    spec: dict[str, Any] = row.spec or {}
    window = CompetitionWindow.model_validate(spec.get("window") or {})
    if row.closed_at is not None and (window.closes_ts is None or row.closed_at < window.closes_ts):
        # Closed early by an organiser: the window ends then.
        window = CompetitionWindow.model_validate({"opens_at": window.opens_at, "closes_at": row.closed_at})
    return QuotaScope(row.id, QuotaConfig.model_validate(spec.get("quotas") or {}), window, row.dataset)


def site_scope(settings: QuotaSettings) -> QuotaScope:
    """The site-wide default limits."""
    return QuotaScope("", settings.limits, settings.window)


def load_scope_for_dataset(session: Session, dataset: str | None, settings: QuotaSettings) -> QuotaScope:
    """The limits a job on ``dataset`` follows: the competition scored on it, else the site default."""
    if dataset:
        row = session.scalars(
            select(Competition).where(Competition.dataset == dataset).order_by(Competition.created_at.desc())
        ).first()
        if row is not None:
            return make_competition_scope(row)
    return site_scope(settings)


def load_scopes_for_dataset(session: Session, dataset: str | None, settings: QuotaSettings) -> list[QuotaScope]:
    """Every scope whose limits a job on ``dataset`` must fit: its competition's (if any), then the site's.

    The site's ``window`` applies to jobs outside competitions only: a competition job follows
    the competition's window, and the site's limits still cap it.
    """
    scope = load_scope_for_dataset(session, dataset, settings)
    if not scope.competition:
        return [scope]
    return [scope, QuotaScope("", settings.limits, CompetitionWindow())]


def load_spawn_scopes(session: Session, settings: QuotaSettings, now: float) -> list[QuotaScope]:
    """The site default and every competition still open at ``now``: a GPU notebook must fit all of them."""
    scopes = [site_scope(settings)]
    for row in session.scalars(select(Competition).order_by(Competition.created_at)):
        scope = make_competition_scope(row)
        if scope.window.closes_ts is None or now < scope.window.closes_ts:
            scopes.append(scope)
    return scopes


def load_gpu_seconds(session: Session, user: str, since: float, until: float) -> float:
    """GPU-seconds ``user`` was charged in [since, until), jobs and notebooks of every competition."""
    inside = session.scalar(
        select(func.coalesce(func.sum(LedgerRow.gpu_seconds), 0.0)).where(
            # end_at > since lets the (user, end_at) index narrow the scan to the window.
            LedgerRow.user == user, LedgerRow.end_at > since, LedgerRow.end_at <= until, LedgerRow.start_at >= since
        )
    )
    # Entries crossing an edge count for their part inside (few: one per charge interval and source).
    edges = session.scalars(
        select(LedgerRow).where(
            LedgerRow.user == user, LedgerRow.end_at > since, LedgerRow.start_at < until,
            or_(LedgerRow.start_at < since, LedgerRow.end_at > until),
        )
    )
    crossing = sum(r.gpu_fraction * (min(r.end_at, until) - max(r.start_at, since)) for r in edges)
    return float(inside or 0.0) + crossing


def load_window_ledger(session: Session, user: str, since: float) -> GpuLedger:
    """The user's ledger entries ending after ``since`` as an in-memory GpuLedger (for rolling reset times)."""
    rows = session.scalars(select(LedgerRow).where(LedgerRow.user == user, LedgerRow.end_at > since))
    return GpuLedger(
        LedgerEntry(r.user, "", r.source, r.source_id, r.gpu_fraction, r.start_at, r.end_at, r.key) for r in rows
    )


def load_usage(session: Session, user: str, scope: QuotaScope, now: float) -> Usage:
    """What counts against ``user``'s limits in ``scope`` at ``now``."""
    since, reset = gpu_period(scope.config, now)
    used = load_gpu_seconds(session, user, since, now)
    budget = scope.config.gpu_seconds
    if reset is None and budget is not None and used >= budget:
        reset = load_window_ledger(session, user, since).rolling_reset_at(
            user, None, window_s=scope.config.window_s, limit_gpu_s=budget, now=now
        )
    active = session.scalar(
        select(func.coalesce(func.sum(Job.gpus_requested), 0)).where(Job.user == user, Job.status.in_(ACTIVE_STATUSES))
    )
    tests = select(func.count()).select_from(Job).where(
        Job.user == user, Job.kind == "test", Job.status != "cancelled", Job.rerun_of.is_(None)  # re-runs are admins'
    )
    if scope.dataset is not None:
        tests = tests.where(Job.dataset == scope.dataset)
    day_start = day_bounds(now)[0]
    return Usage(
        gpu_seconds=used,
        gpu_reset_at=reset,
        gpus_active=int(active or 0),
        submissions_today=int(session.scalar(tests.where(Job.created_at >= day_start)) or 0),
        submissions_total=int(session.scalar(tests) or 0),
    )


def load_jobs_to_charge(session: Session) -> Sequence[Job]:
    """Jobs that ran and are not settled yet: running ones, and finished ones not charged to their end."""
    settled = select(ChargeCursor.source_id).where(ChargeCursor.source == "job", ChargeCursor.settled.is_(True))
    query = select(Job).where(
        Job.started_at.is_not(None), Job.status.in_(("running", *FINAL_STATUSES)), Job.id.not_in(settled)
    )
    return session.scalars(query.order_by(Job.started_at)).all()


def load_cursor(session: Session, source: str, source_id: str, start: float) -> ChargeCursor:
    """The charge cursor of a job or notebook, created at ``start`` on first use (in the caller's transaction)."""
    cursor = session.get(ChargeCursor, (source, source_id))
    if cursor is None:
        cursor = ChargeCursor(source=source, source_id=source_id, charged_until=start, settled=False)
        session.add(cursor)
        session.flush()
    return cursor


def save_charge(session: Session, cursor: ChargeCursor, entry: LedgerEntry | None, *, settle: bool) -> None:
    """Append ``entry`` to the ledger and move ``cursor`` to its end, in the caller's transaction.

    An entry whose key is already stored makes the commit fail (unique key), never count twice.
    Entries of 0 GPUs (CPU-only jobs) move the cursor without a ledger row.
    """
    if entry is not None:
        if entry.gpu_fraction > 0:
            session.add(LedgerRow(
                key=entry.key, user=entry.user, competition=entry.competition, source=entry.source,
                source_id=entry.source_id, gpu_fraction=entry.gpu_fraction, start_at=entry.start,
                end_at=entry.end, gpu_seconds=entry.gpu_seconds,
            ))
        cursor.charged_until = entry.end
    if settle:
        cursor.settled = True


def load_ledger_total(session: Session, *, user: str | None = None, source_id: str | None = None) -> float:
    """Every GPU-second in the ledger, optionally of one user or one job/notebook (a plain re-sum)."""
    query = select(func.coalesce(func.sum(LedgerRow.gpu_seconds), 0.0))
    if user is not None:
        query = query.where(LedgerRow.user == user)
    if source_id is not None:
        query = query.where(LedgerRow.source_id == source_id)
    return float(session.scalar(query) or 0.0)


def load_open_notebook_ids(session: Session) -> list[str]:
    """Ids of notebook runs whose charge is not settled (running, or stopped since the last pass)."""
    query = select(ChargeCursor.source_id).where(ChargeCursor.source == "notebook", ChargeCursor.settled.is_(False))
    return list(session.scalars(query.order_by(ChargeCursor.source_id)))


def settle_notebook(session: Session, source_id: str, user: str, stopped_at: float | None, fraction: float) -> float:
    """Charge a stopped notebook run from its cursor to ``stopped_at`` and settle it, in one transaction.

    The GPU fraction is the one its earlier charges used, else ``fraction``. ``stopped_at`` None
    (the stop time is lost) settles it where it is, charging nothing more. Returns the
    GPU-seconds charged now.
    """
    cursor = session.get(ChargeCursor, ("notebook", source_id))
    if cursor is None or cursor.settled:
        return 0.0
    charged_fraction = session.scalar(
        select(LedgerRow.gpu_fraction).where(LedgerRow.source == "notebook", LedgerRow.source_id == source_id)
        .order_by(LedgerRow.end_at.desc()).limit(1)
    )
    entry = None
    if stopped_at is not None:
        entry = make_charge(user=user, competition="", source="notebook", source_id=source_id,
                            gpu_fraction=float(charged_fraction or fraction), charged_until=cursor.charged_until,
                            until=stopped_at)
    save_charge(session, cursor, entry, settle=True)
    return entry.gpu_seconds if entry is not None else 0.0
