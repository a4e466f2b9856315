"""The panel's decisions, without widgets or I/O: which buttons are enabled, why not, and when to retry.

Everything here takes plain values (``now`` in Unix seconds) and returns plain values, so the
rules can be tested without a browser or a kernel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

GatewayHealth = Literal["unknown", "ok", "unreachable", "not-configured"]
ACTIVE_STATUSES = ("queued", "running")
REFUSAL_HOLD_S = 60.0  # how long a quota or window refusal keeps the buttons disabled before a retry is allowed
RETRY_MAX_S = 30.0


@dataclass(frozen=True)
class Refusal:
    """The gateway refused a submission for a reason that will not change by clicking again."""

    message: str
    reason: str
    until: float  # Unix seconds after which the buttons may be tried again


@dataclass(frozen=True)
class QuotaView:
    """What the quota bar shows; fields the gateway does not send stay None."""

    gpu_hours_used: float | None = None
    gpu_hours_limit: float | None = None
    submissions_left_today: int | None = None
    resets_at: str | None = None
    message: str | None = None

    @property
    def gpu_hours_left(self) -> float | None:
        """GPU-hours left, or None when the gateway sends no limit."""
        if self.gpu_hours_used is None or self.gpu_hours_limit is None:
            return None
        return max(0.0, self.gpu_hours_limit - self.gpu_hours_used)


@dataclass(frozen=True)
class PanelState:
    """Everything the buttons depend on."""

    gateway: GatewayHealth = "unknown"
    gateway_message: str = ""
    retry_at: float | None = None
    folder: str = ""
    folder_exists: bool = True
    entrypoint: str | None = None  # the script Train runs
    test_entrypoint: str | None = None  # the script Test runs
    dataset: str | None = None
    datasets: tuple[str, ...] = ()
    gpus: int = 0
    submitting: str | None = None  # "train" or "test" while a submission is on its way
    selected_job_id: str | None = None
    selected_status: str | None = None
    cancel_requested: bool = False
    cancelling: bool = False
    refusal: Refusal | None = None
    quota: QuotaView | None = None


@dataclass(frozen=True)
class ButtonState:
    """One button: enabled, or disabled with the reason shown next to it."""

    enabled: bool
    reason: str = ""


@dataclass(frozen=True)
class Buttons:
    """The three action buttons."""

    train: ButtonState
    test: ButtonState
    cancel: ButtonState


def _wait_text(seconds: float) -> str:
    return f"{max(1, round(seconds))} s"


def _blocked(state: PanelState, kind: str, now: float) -> str:
    """Why ``kind`` cannot be submitted now ("" when it can)."""
    if state.submitting:
        return f"A {state.submitting} job is being packed and sent; wait a moment."
    if state.gateway == "not-configured":
        return state.gateway_message or "This server does not know where the job gateway is."
    if state.gateway == "unreachable":
        retry = "" if state.retry_at is None else f" Retrying in {_wait_text(state.retry_at - now)}."
        return f"The job gateway is not reachable.{retry}"
    if state.gateway == "unknown":
        return "Connecting to the job gateway…"
    if state.refusal is not None and now < state.refusal.until:
        return state.refusal.message
    quota = state.quota
    if quota is not None:
        left = quota.gpu_hours_left
        if left is not None and left <= 0 and state.gpus > 0:
            resets = f" (resets {quota.resets_at})" if quota.resets_at else ""
            return f"You have no GPU-hours left{resets}. Choose 0 GPUs to run on CPU, or wait."
        if kind == "test" and quota.submissions_left_today == 0:
            resets = f" (resets {quota.resets_at})" if quota.resets_at else ""
            return f"You have no test submissions left today{resets}."
    if not state.folder_exists:
        return f"The job folder {state.folder!r} does not exist; type the folder that holds your script."
    if kind == "train" and not state.entrypoint:
        return "Choose the entry point: the script that starts your run (e.g. train.py)."
    if kind == "test":
        if not state.test_entrypoint:
            return ("Choose the test entry point: the script that answers the hidden test inputs "
                    "(e.g. predict.py).")
        if not state.datasets:
            return "No datasets are registered yet, so there is nothing to test on; ask the organisers."
        if not state.dataset:
            return "Choose a dataset: a test job runs on its hidden test inputs."
    return ""


def decide_buttons(state: PanelState, now: float) -> Buttons:
    """Which of Train, Test and Cancel are enabled at ``now``, each with its reason when not."""
    train, test = _blocked(state, "train", now), _blocked(state, "test", now)
    if state.selected_job_id is None:
        cancel = ButtonState(False, "Select a queued or running job to cancel it.")
    elif state.cancelling or state.cancel_requested:
        cancel = ButtonState(False, "Cancelling; the job stops in a few seconds.")
    elif state.selected_status not in ACTIVE_STATUSES:
        cancel = ButtonState(False, f"This job has already ended ({state.selected_status}).")
    elif state.gateway != "ok":
        cancel = ButtonState(False, "The job gateway is not reachable; cancel once it is back.")
    else:
        cancel = ButtonState(True)
    return Buttons(ButtonState(not train, train), ButtonState(not test, test), cancel)


DEFAULT_ENTRYPOINTS = {"train": "train.py", "test": "predict.py"}


def pick_entrypoint(scripts: Sequence[str], kind: str, *, wanted: str | None = None, current: str | None = None,
                    fallback: str | None = None) -> str:
    """The script the ``kind`` ("train" or "test") picker shows among the folder's ``scripts``; "" when there are none.

    In order, the first one the folder has: ``wanted`` (the Workbench argument), ``current``
    (what the picker showed before the folder changed), the default (train.py for Train,
    predict.py for Test), then for Test ``fallback`` (the Train argument, as one script used to
    serve both) and the first ``.py`` script; last, the first script.
    """
    if not scripts:
        return ""
    candidates = [wanted, current, DEFAULT_ENTRYPOINTS.get(kind)]
    if kind == "test":
        candidates += [fallback, next((s for s in scripts if s.endswith(".py")), None)]
    return next((c for c in candidates if c and c in scripts), scripts[0])


def refusal_from_error(status: int, reason: str, message: str, now: float) -> Refusal | None:
    """A Refusal that disables submitting for a while, for quota (429) and window/permission (403) errors.

    Other errors (a bad folder, a wrong entry point) are shown but leave the buttons enabled,
    because fixing the input is the way forward.
    """
    if status in (403, 429):
        return Refusal(message=message, reason=reason, until=now + REFUSAL_HOLD_S)
    return None


def next_retry_delay_s(failures: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` failures in a row (2, 4, 8 … 30)."""
    return min(RETRY_MAX_S, 2.0 ** max(1, failures))


def _number(data: Mapping[str, Any], *names: str) -> float | None:
    for name in names:
        value = data.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def make_quota_view(data: Mapping[str, Any] | None) -> QuotaView | None:
    """The quota bar's view of the gateway's quota reply; None when the gateway offers no quota.

    GPU seconds (``gpu_seconds_used``/``gpu_seconds_limit``) are converted to hours.
    """
    if not data or not data.get("available", True):
        return None
    used = _number(data, "gpu_hours_used")
    limit = _number(data, "gpu_hours_limit")
    if used is None and (s := _number(data, "gpu_seconds_used")) is not None:
        used = s / 3600
    if limit is None and (s := _number(data, "gpu_seconds_limit")) is not None:
        limit = s / 3600
    left_today = _number(data, "submissions_left_today")
    resets = data.get("resets_at")
    message = data.get("window_message") or data.get("message")
    return QuotaView(
        gpu_hours_used=used, gpu_hours_limit=limit,
        submissions_left_today=None if left_today is None else int(left_today),
        resets_at=str(resets) if resets else None, message=str(message) if message else None,
    )


@dataclass(frozen=True)
class LeaderboardRow:
    """One leaderboard line as the panel shows it."""

    rank: int | None
    user: str
    score: float | None
    submissions: int | None = None
    last_submission: str | None = None


def make_leaderboard_rows(data: Mapping[str, Any] | None, limit: int = 20) -> list[LeaderboardRow]:
    """The first ``limit`` rows of the gateway's leaderboard reply (``rows`` or ``entries``); [] without one."""
    if not data or not data.get("available", True):
        return []
    rows = data.get("rows") or data.get("entries") or []
    out = []
    for i, row in enumerate(rows[:limit]):
        if not isinstance(row, Mapping):
            continue
        rank = row.get("rank")
        score = _number(row, "score")
        subs = row.get("submissions")
        out.append(LeaderboardRow(
            rank=int(rank) if isinstance(rank, int) else i + 1,
            user=str(row.get("user", "?")),
            score=score,
            submissions=int(subs) if isinstance(subs, int) else None,
            last_submission=str(row["last_submission"]) if row.get("last_submission") else None,
        ))
    return out


FINAL_SCORE_STATUSES = ("scored", "error", "not-scored")


def needs_score(job: Mapping[str, Any], score: Mapping[str, Any] | None) -> bool:
    """True while a test job's score is worth asking for: it succeeded and no final answer came yet."""
    if job.get("kind") != "test" or job.get("status") != "succeeded":
        return False
    return score is None or (score.get("available", True) and score.get("status") not in FINAL_SCORE_STATUSES)


def merge_score(job: Mapping[str, Any], score: Mapping[str, Any] | None,
                board: Mapping[str, Any] | None) -> dict[str, Any]:
    """``job`` with ``score``, ``rank`` and ``score_message`` filled in from the gateway's score and leaderboard.

    The rank is the leaderboard row of this very job (a participant's chosen submission); an
    unranked job keeps the score without a rank.
    """
    merged = dict(job)
    if not score or not score.get("available", True):
        return merged
    if isinstance(score.get("score"), (int, float)) and not isinstance(score.get("score"), bool):
        merged["score"] = float(score["score"])
    if score.get("status") != "scored" and score.get("message"):
        merged["score_message"] = str(score["message"])
    rows = (board or {}).get("rows") or []
    mine = next((r for r in rows if isinstance(r, Mapping) and r.get("job_id") == job.get("id")), None)
    if mine is not None and isinstance(mine.get("rank"), int):
        merged["rank"] = mine["rank"]
    return merged


@dataclass(frozen=True)
class GpuLine:
    """The panel's GPU line: "your slice: 31 % busy, 5.2 / 8 GiB", or the sampler's reason for showing none."""

    text: str
    has_reading: bool


def make_gpu_line(reply: Mapping[str, Any] | None) -> GpuLine | None:
    """The GPU line for the gateway's ``GET /gpus/mine`` reply; None when the gateway offers no such view.

    With readings, one part per slice or job the user holds, the notebook slice first; without
    them, the gateway's own sentence saying why (no GPU on this machine, the sampler is off, the
    user holds no GPU).
    """
    if not reply or not reply.get("available", True):
        return None
    slices = [s for s in reply.get("slices") or () if isinstance(s, Mapping) and s.get("message")]
    if slices:
        slices.sort(key=lambda s: s.get("kind") != "notebook")
        return GpuLine(" · ".join(str(s["message"]) for s in slices), True)
    message = reply.get("message")
    return GpuLine(str(message), False) if message else None
