"""HTML snippets of the panel: gateway health, job lines, the quota bar text and the leaderboard (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from arenahub.widgets.state import ACTIVE_STATUSES, GatewayHealth, GpuLine, LeaderboardRow, QuotaView

STATUS_COLORS = {
    "queued": "#6c757d", "running": "#1f77b4", "succeeded": "#2e7d32", "failed": "#b00020",
    "cancelled": "#8a5a00", "timeout": "#b00020", "lost": "#b00020",
}


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def health_html(health: GatewayHealth, message: str, retry_in_s: float | None) -> str:
    """The one-line gateway status at the top of the panel."""
    if health == "ok":
        return '<span style="color:#2e7d32">● Connected to the job gateway</span>'
    if health == "unknown":
        return '<span style="color:#6c757d">○ Connecting to the job gateway…</span>'
    retry = "" if retry_in_s is None else f" Retrying in {max(1, round(retry_in_s))} s."
    return f'<span style="color:#b00020">⚠ {escape(message)}{retry}</span>'


def job_label(job: Mapping[str, Any]) -> str:
    """A job's line in the job list: short id, kind, entry point and status."""
    spec = job.get("spec") or {}
    return f"{str(job['id'])[:8]}  {job.get('kind', '?'):<5}  {spec.get('entrypoint', '')}  — {job.get('status', '?')}"


def job_status_html(job: Mapping[str, Any] | None, now: float) -> str:
    """The selected job's status line: state, how long, exit code, reason and score when there is one."""
    if job is None:
        return '<span style="color:#6c757d">No job selected. Click Train to start one.</span>'
    status = str(job.get("status", "?"))
    color = STATUS_COLORS.get(status, "#333")
    started, finished = job.get("started_at"), job.get("finished_at")
    if status in ACTIVE_STATUSES:
        since = started if status == "running" and started else job.get("created_at") or now
        timing = f"{'running' if status == 'running' else 'waiting'} for {_duration(now - float(since))}"
    elif started and finished:
        timing = f"ran {_duration(float(finished) - float(started))}"
    else:
        timing = ""
    parts = [f'<b style="color:{color}" class="arenahub-status-{escape(status)}">{escape(status)}</b>']
    if timing:
        parts.append(escape(timing))
    if job.get("exit_code") is not None and status not in ACTIVE_STATUSES:
        parts.append(f"exit code {int(job['exit_code'])}")
    if job.get("gpus"):
        parts.append(f"GPUs {', '.join(str(g) for g in job['gpus'])}")
    if job.get("reason"):
        parts.append(escape(str(job["reason"])))
    if isinstance(job.get("score"), (int, float)):
        rank = f" (rank {job['rank']})" if isinstance(job.get("rank"), int) else ""
        parts.append(f"<b>score {float(job['score']):.6g}{rank}</b>")
    elif job.get("score_message"):
        parts.append(escape(str(job["score_message"])))
    spec = job.get("spec") or {}
    head = f"Job <code>{escape(str(job['id'])[:8])}</code> ({escape(str(job.get('kind')))}, {escape(str(spec.get('entrypoint', '')))})"
    return head + ": " + " · ".join(parts)


def quota_text(quota: QuotaView) -> str:
    """The words next to the quota bar."""
    parts = []
    if quota.gpu_hours_used is not None and quota.gpu_hours_limit is not None:
        parts.append(f"GPU-hours: {quota.gpu_hours_used:.2f} used of {quota.gpu_hours_limit:.2f} "
                     f"({quota.gpu_hours_left or 0:.2f} left)")
    if quota.submissions_left_today is not None:
        parts.append(f"test submissions left today: {quota.submissions_left_today}")
    if quota.resets_at:
        parts.append(f"resets {quota.resets_at}")
    if quota.message:
        parts.append(quota.message)
    return " · ".join(parts) or "Quota: no limits reported."


def gpu_html(line: GpuLine | None) -> str:
    """The GPU line under the quota: the user's slice figures, or (in grey) why there are none."""
    if line is None:
        return ""
    color = "inherit" if line.has_reading else "#6c757d"
    return f'<span style="color:{color}"><b>GPU</b> {escape(line.text)}</span>'


def leaderboard_html(rows: Sequence[LeaderboardRow], me: str) -> str:
    """The leaderboard as a small table, the viewer's own row in bold."""
    if not rows:
        return ""
    head = "<tr><th>#</th><th>user</th><th>score</th><th>submissions</th><th>last submission</th></tr>"
    body = "".join(
        f"<tr style=\"{'font-weight:bold' if r.user == me else ''}\"><td>{r.rank or ''}</td><td>{escape(r.user)}</td>"
        f"<td>{'' if r.score is None else f'{r.score:.6g}'}</td><td>{'' if r.submissions is None else r.submissions}</td>"
        f"<td>{escape(r.last_submission or '')}</td></tr>"
        for r in rows
    )
    return f'<table class="arenahub-leaderboard" style="border-collapse:collapse">{head}{body}</table>'


def message_html(level: str, text: str) -> str:
    """A notice under the buttons: info, success or error."""
    if not text:
        return ""
    color = {"error": "#b00020", "success": "#2e7d32"}.get(level, "#333")
    icon = {"error": "✖ ", "success": "✔ "}.get(level, "")
    return f'<div style="color:{color}">{icon}{escape(text)}</div>'


def reasons_html(reasons: Mapping[str, str]) -> str:
    """Why each disabled button is disabled, one line each."""
    lines = [f"<div><b>{escape(name)}</b> is unavailable: {escape(reason)}</div>" for name, reason in reasons.items() if reason]
    return f'<div style="color:#6c757d;font-size:90%">{"".join(lines)}</div>' if lines else ""
