"""The leaderboard: each participant's chosen submission, ranked, public split before close, private after (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Entry:
    """One scored test submission that counts on the leaderboard; times are Unix seconds."""

    user: str
    job_id: str
    submitted_at: float
    code_sha256: str
    public_score: float | None
    private_score: float | None
    public_metrics: dict[str, float] = field(default_factory=dict)
    private_metrics: dict[str, float] = field(default_factory=dict)
    is_error: bool = False  # counted as a submission, never chosen


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def choose_entry(entries: Sequence[Entry], descending: bool) -> Entry | None:
    """The submission that represents a participant: the best public score, earliest on ties.

    Without any public score (a competition whose public share is 0) it is the latest
    submission, as on Kaggle when no submission was selected. None when all are errors.
    """
    scored = [e for e in entries if not e.is_error]
    with_public = [e for e in scored if e.public_score is not None]
    if not with_public:
        return max(scored, key=lambda e: e.submitted_at, default=None)

    def key(e: Entry) -> tuple[float, float]:
        value = e.public_score if e.public_score is not None else 0.0
        return (-value if descending else value, e.submitted_at)

    return min(with_public, key=key)


def build_rows(entries: Iterable[Entry], *, is_closed: bool, descending: bool,
               columns: Sequence[str]) -> list[dict[str, Any]]:
    """Ranked rows: rank, user, score, submissions, last_submission, job and code hash, metric columns.

    Before close ``score`` is the chosen submission's public score; after close the private
    score is revealed, becomes ``score`` (falling back to public when there is no private
    split) and ranks the board. Equal scores share a rank; the earlier submission is listed
    first; participants without a score come last with rank None.
    """
    by_user: dict[str, list[Entry]] = {}
    for entry in entries:
        by_user.setdefault(entry.user, []).append(entry)
    rows: list[dict[str, Any]] = []
    for user, mine in by_user.items():
        chosen = choose_entry(mine, descending)
        row: dict[str, Any] = {
            "user": user,
            "submissions": len(mine),
            "last_submission": _iso(max(e.submitted_at for e in mine)),
            "score": None,
            "job_id": None,
            "code_sha256": None,
            "submitted_at": None,
        }
        if chosen is not None:
            use_private = is_closed and chosen.private_score is not None
            metrics = chosen.private_metrics if use_private else chosen.public_metrics
            row.update(
                score=chosen.private_score if use_private else chosen.public_score,
                job_id=chosen.job_id,
                code_sha256=chosen.code_sha256,
                submitted_at=_iso(chosen.submitted_at),
                public_score=chosen.public_score,
            )
            if is_closed:
                row["private_score"] = chosen.private_score
            for name in columns:
                if name in metrics:
                    row[name] = metrics[name]
        rows.append(row)

    def order(row: dict[str, Any]) -> tuple[bool, float, str, str]:
        value = row["score"]
        key = 0.0 if value is None else (-value if descending else value)
        return (value is None, key, row["submitted_at"] or "", row["user"])

    rows.sort(key=order)
    previous: float | None = None
    rank = 0
    for position, row in enumerate(rows, start=1):
        if row["score"] is None:
            row["rank"] = None
            continue
        if row["score"] != previous:
            rank, previous = position, row["score"]
        row["rank"] = rank
    return rows
