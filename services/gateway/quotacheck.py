"""The gateway's quota checks at the door: refuse a submission or a notebook spawn over budget, audit both outcomes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from arenahub.core.errors import QuotaExceeded
from arenahub.gateway.audit import save_audit_event
from arenahub.gateway.db import Database
from arenahub.gateway.jobstore import save_new_job
from arenahub.gateway.models import Job
from arenahub.gateway.quota_settings import QuotaSettings
from arenahub.gateway.quotastore import QuotaScope, load_scopes_for_dataset, load_spawn_scopes, load_usage
from arenahub.gateway.specs import JobSpec
from arenahub.quota import QuotaDecision, decide_spawn, decide_strictest, decide_submission, iso_utc


class QuotaRefused(QuotaExceeded):
    """A refusal by a quota (429) or a competition window (403); the reply also carries ``resets_at``."""

    def __init__(self, decision: QuotaDecision) -> None:
        super().__init__(decision.message, reason=decision.reason)
        self.status = decision.status
        self.resets_at = decision.resets_at
        self.reply_extra: dict[str, Any] = {"resets_at": iso_utc(decision.resets_at), "limit": decision.limit}
        self.reply_headers: dict[str, str] = {}


def _retry_after(decision: QuotaDecision, now: float) -> str | None:
    if decision.resets_at is None:
        return None
    return str(max(int(decision.resets_at - now + 0.999), 0))


def _refuse(session: Session, user: str, decision: QuotaDecision, now: float, detail: dict[str, Any]) -> None:
    save_audit_event(session, kind="quota-refused", actor=user, subject=user, now=now, message=decision.message,
                     detail={"reason": decision.reason, "resets_at": decision.resets_at, "limit": decision.limit, **detail})


async def check_submission_quota(db: Database, settings: QuotaSettings, user: str, spec: JobSpec, now: float) -> QuotaScope:
    """The scope the job counts in; raises QuotaRefused (429, or 403 for a closed window) and audits the refusal."""

    def decide(session: Session) -> tuple[QuotaScope, QuotaDecision]:
        # A competition job must fit the competition's limits and the site's: the stricter refusal wins.
        scopes = load_scopes_for_dataset(session, spec.dataset, settings)
        decisions = [
            (scope.competition, decide_submission(
                scope.config, scope.window, load_usage(session, user, scope, now), kind=spec.kind, gpus=spec.gpus,
                time_limit_s=float(spec.time_limit_s or 0), now=now,
            ))
            for scope in scopes
        ]
        return scopes[0], decide_strictest(decisions)

    scope, decision = await db.read(decide)
    if not decision.allowed:
        detail = {"kind": spec.kind, "gpus": spec.gpus, "dataset": spec.dataset, "competition": scope.competition,
                  "limit": decision.limit}
        await db.write(_refuse, user, decision, now, detail)
        raise _refusal(decision, now)
    return scope


async def check_spawn_quota(db: Database, settings: QuotaSettings, user: str, gpu_fraction: float, now: float) -> None:
    """Raise QuotaRefused (429) when a notebook on ``gpu_fraction`` of a GPU would exceed any open budget."""

    def decide(session: Session) -> QuotaDecision:
        return decide_strictest([
            (scope.competition, decide_spawn(scope.config, load_usage(session, user, scope, now), gpu_fraction=gpu_fraction))
            for scope in load_spawn_scopes(session, settings, now)
        ])

    decision = await db.read(decide)
    if not decision.allowed:
        await db.write(_refuse, user, decision, now, {"spawn_gpu_fraction": gpu_fraction})
        raise _refusal(decision, now)


def _refusal(decision: QuotaDecision, now: float) -> QuotaRefused:
    refused = QuotaRefused(decision)
    retry = _retry_after(decision, now)
    refused.reply_headers = {"Retry-After": retry} if retry is not None and decision.status == 429 else {}
    return refused


def save_submitted_job(session: Session, job: Job) -> Job:
    """Insert the queued job and its 'submission' audit event in one transaction."""
    saved = save_new_job(session, job)
    save_audit_event(
        session, kind="submission", actor=job.user, subject=job.id, now=job.created_at,
        message=f"{job.kind} job {job.id} submitted", detail={
            "job_id": job.id, "kind": job.kind, "dataset": job.dataset, "gpus": job.gpus_requested,
            "code_sha256": job.code_sha256,
        },
    )
    return saved
