"""The panel's button rules (arenahub.widgets.state): which buttons are enabled, and why not."""

from dataclasses import replace

import pytest

from arenahub.widgets.state import (
    REFUSAL_HOLD_S,
    PanelState,
    QuotaView,
    decide_buttons,
    make_leaderboard_rows,
    make_quota_view,
    next_retry_delay_s,
    refusal_from_error,
)

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.0
READY = PanelState(gateway="ok", folder="demo", entrypoint="train.py", datasets=("digits",), dataset="digits")


def test_a_ready_panel_enables_train_and_test_but_not_cancel_without_a_job():
    buttons = decide_buttons(READY, NOW)
    assert buttons.train.enabled and buttons.test.enabled
    assert not buttons.cancel.enabled and "Select a queued or running job" in buttons.cancel.reason


@pytest.mark.parametrize("changes, words", [
    ({"gateway": "unknown"}, "Connecting to the job gateway"),
    ({"gateway": "unreachable", "retry_at": NOW + 4}, "not reachable. Retrying in 4 s."),
    ({"gateway": "not-configured", "gateway_message": "ARENAHUB_GATEWAY_URL is not set."}, "ARENAHUB_GATEWAY_URL"),
    ({"submitting": "train"}, "A train job is being packed and sent"),
    ({"folder_exists": False}, "The job folder 'demo' does not exist"),
    ({"entrypoint": None}, "Choose the entry point"),
    ({"quota": QuotaView(gpu_hours_used=10, gpu_hours_limit=10, resets_at="Monday 00:00 UTC"), "gpus": 1},
     "no GPU-hours left (resets Monday 00:00 UTC). Choose 0 GPUs"),
])
def test_train_and_test_are_disabled_with_the_reason(changes, words):
    buttons = decide_buttons(replace(READY, **changes), NOW)
    assert not buttons.train.enabled and not buttons.test.enabled
    assert words in buttons.train.reason and words in buttons.test.reason


def test_an_exhausted_gpu_quota_still_allows_cpu_jobs():
    state = replace(READY, gpus=0, quota=QuotaView(gpu_hours_used=12, gpu_hours_limit=10))
    assert decide_buttons(state, NOW).train.enabled


def test_no_test_submissions_left_disables_only_test():
    state = replace(READY, quota=QuotaView(submissions_left_today=0, resets_at="00:00 UTC"))
    buttons = decide_buttons(state, NOW)
    assert buttons.train.enabled
    assert not buttons.test.enabled and buttons.test.reason == "You have no test submissions left today (resets 00:00 UTC)."


@pytest.mark.parametrize("changes, words", [
    ({"datasets": (), "dataset": None}, "No datasets are registered yet"),
    ({"dataset": None}, "Choose a dataset"),
])
def test_test_needs_a_dataset_while_train_does_not(changes, words):
    buttons = decide_buttons(replace(READY, **changes), NOW)
    assert buttons.train.enabled
    assert not buttons.test.enabled and words in buttons.test.reason


@pytest.mark.parametrize("status, reason", [
    (429, "quota-weekly"),
    (403, "window-closed"),
])
def test_quota_and_window_refusals_disable_both_buttons_for_a_while_then_allow_a_retry(status, reason):
    message = "The competition window closed on 2026-11-20 00:00 UTC."
    refusal = refusal_from_error(status, reason, message, NOW)
    assert refusal is not None and refusal.until == NOW + REFUSAL_HOLD_S
    state = replace(READY, refusal=refusal)
    held = decide_buttons(state, NOW + 1)
    assert not held.train.enabled and held.train.reason == message
    assert not held.test.enabled and held.test.reason == message
    assert decide_buttons(state, NOW + REFUSAL_HOLD_S + 1).train.enabled


@pytest.mark.parametrize("status", [400, 413, 422, 503])
def test_input_errors_and_outages_do_not_hold_the_buttons(status):
    assert refusal_from_error(status, "folder-empty", "The job folder 'demo' has no files.", NOW) is None


@pytest.mark.parametrize("changes, enabled, words", [
    ({"selected_job_id": "j1", "selected_status": "running"}, True, ""),
    ({"selected_job_id": "j1", "selected_status": "queued"}, True, ""),
    ({"selected_job_id": "j1", "selected_status": "succeeded"}, False, "already ended (succeeded)"),
    ({"selected_job_id": "j1", "selected_status": "running", "cancelling": True}, False, "Cancelling"),
    ({"selected_job_id": "j1", "selected_status": "running", "cancel_requested": True}, False, "Cancelling"),
    ({"selected_job_id": "j1", "selected_status": "running", "gateway": "unreachable"}, False, "not reachable"),
])
def test_cancel_is_enabled_only_for_an_active_selected_job(changes, enabled, words):
    cancel = decide_buttons(replace(READY, **changes), NOW).cancel
    assert cancel.enabled is enabled
    assert words in cancel.reason


def test_retries_back_off_from_2_seconds_to_at_most_30():
    assert [next_retry_delay_s(n) for n in range(7)] == [2.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_the_quota_bar_reads_hours_or_seconds_and_hides_without_a_quota():
    assert make_quota_view({"available": False}) is None
    assert make_quota_view(None) is None
    view = make_quota_view({"available": True, "gpu_seconds_used": 5400, "gpu_seconds_limit": 36000,
                            "submissions_left_today": 2, "resets_at": "Monday"})
    assert view == QuotaView(gpu_hours_used=1.5, gpu_hours_limit=10.0, submissions_left_today=2, resets_at="Monday")
    assert view.gpu_hours_left == 8.5
    assert QuotaView(gpu_hours_used=11, gpu_hours_limit=10).gpu_hours_left == 0.0
    assert QuotaView(submissions_left_today=1).gpu_hours_left is None


def test_leaderboard_rows_accept_rows_or_entries_and_number_missing_ranks():
    rows = make_leaderboard_rows({"available": True, "entries": [
        {"user": "alice", "score": 0.9, "submissions": 3}, {"rank": 7, "user": "bob", "score": "bad"}, "junk"]})
    assert [(r.rank, r.user, r.score, r.submissions) for r in rows] == [(1, "alice", 0.9, 3), (7, "bob", None, None)]
    assert make_leaderboard_rows({"available": False}) == []


def test_a_scored_test_job_shows_its_score_and_the_rank_of_its_own_leaderboard_row():
    from arenahub.widgets.state import merge_score, needs_score
    from arenahub.widgets.views import job_status_html

    job = {"id": "j2", "kind": "test", "status": "succeeded", "spec": {"entrypoint": "predict.py"}}
    assert needs_score(job, None) and needs_score(job, {"available": True, "status": "pending"})
    assert not needs_score(job, {"available": True, "status": "scored", "score": 0.5})
    assert not needs_score(job, {"available": False})
    assert not needs_score({**job, "kind": "train"}, None) and not needs_score({**job, "status": "running"}, None)
    board = {"rows": [{"rank": 1, "user": "bob", "score": 0.9, "job_id": "j9"},
                      {"rank": 2, "user": "alice", "score": 0.75, "job_id": "j2"}]}
    scored = merge_score(job, {"available": True, "status": "scored", "score": 0.75}, board)
    assert (scored["score"], scored["rank"]) == (0.75, 2)
    assert "<b>score 0.75 (rank 2)</b>" in job_status_html(scored, NOW)
    pending = merge_score(job, {"available": True, "status": "pending",
                                "message": "The score appears when the test job has succeeded and been scored."}, board)
    assert "score" not in pending and "The score appears when" in job_status_html(pending, NOW)
    assert merge_score(job, {"available": False}, board) == job
