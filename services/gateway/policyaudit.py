"""Audit events for log-policy decisions: the first line a job's policy held back for each reason, and a summary at its end.

Both are written in the log pump's own transactions (with the withheld originals they describe),
so a gateway that dies and re-attaches writes each event exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from arenahub.gateway.audit import save_audit_event
from arenahub.gateway.logstore import WithheldOriginal
from arenahub.gateway.models import Job, WithheldLine


def first_by_reason(withheld: Sequence[WithheldOriginal]) -> dict[str, WithheldOriginal]:
    """The first withheld or redacted line of each reason in ``withheld`` (pure; order kept)."""
    first: dict[str, WithheldOriginal] = {}
    for line in withheld:
        first.setdefault(line.rule or line.action, line)
    return first


def save_first_policy_events(session: Session, job_id: str, withheld: Sequence[WithheldOriginal], *,
                             policy: str, now: float) -> int:
    """After a batch's withheld originals are stored: one ``policy`` event per reason first seen now.

    A reason counts as new when no stored line of the job with that reason comes before the
    batch's first one. Runs in the caller's transaction; returns how many events it wrote.
    """
    job = session.get(Job, job_id)
    if job is None or not withheld:
        return 0
    written = 0
    for reason, line in first_by_reason(withheld).items():
        earlier = session.scalar(select(func.count()).select_from(WithheldLine).where(
            WithheldLine.job_id == job_id, WithheldLine.rule == line.rule, WithheldLine.record_seq < line.record_seq,
        ))
        if earlier:
            continue
        save_audit_event(
            session, kind="policy", actor="gateway", subject=job.user, now=now,
            message=f"job {job_id}: the {policy} log policy {_verb(line.action)} a line ({reason})",
            detail={"job_id": job_id, "event": "first", "policy": policy, "reason": reason, "action": line.action,
                    "record_seq": line.record_seq, "dataset": job.dataset},
        )
        written += 1
    return written


def save_policy_summary(session: Session, job_id: str, *, policy: str, now: float) -> bool:
    """At a job's end: one ``policy`` event counting its withheld and redacted lines by reason.

    Counts come from the stored originals, so lines from before a gateway restart are included.
    Nothing is written when the policy held nothing back; returns whether an event was written.
    """
    job = session.get(Job, job_id)
    rows = session.execute(
        select(WithheldLine.action, WithheldLine.rule, func.count())
        .where(WithheldLine.job_id == job_id).group_by(WithheldLine.action, WithheldLine.rule)
    ).all()
    if job is None or not rows:
        return False
    by_reason: dict[str, int] = {}
    by_action: dict[str, int] = {}
    for action, rule, count in rows:
        by_reason[rule or action] = by_reason.get(rule or action, 0) + int(count)
        by_action[action] = by_action.get(action, 0) + int(count)
    counts = ", ".join(f"{reason} {count}" for reason, count in sorted(by_reason.items()))
    save_audit_event(
        session, kind="policy", actor="gateway", subject=job.user, now=now,
        message=f"job {job_id} ended: the {policy} log policy held back {sum(by_reason.values())} lines ({counts})",
        detail=_summary_detail(job, policy, by_reason, by_action),
    )
    return True


def _summary_detail(job: Job, policy: str, by_reason: dict[str, int], by_action: dict[str, int]) -> dict[str, Any]:
    return {"job_id": job.id, "event": "summary", "policy": policy, "dataset": job.dataset,
            "reasons": dict(sorted(by_reason.items())), "actions": dict(sorted(by_action.items()))}


def _verb(action: str) -> str:
    return "redacted" if action == "redact" else "withheld"
