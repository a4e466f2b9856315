"""The panel's button rules (arenahub.widgets.state): which buttons are enabled, and why not."""

from dataclasses import replace

import pytest

from arenahub.widgets.state import (
    REFUSAL_HOLD_S,
    PanelState,
    QuotaView,
    decide_buttons,
    make_leaderboard_rows,
    make_gpu_line,
    make_quota_view,
    next_retry_delay_s,
    pick_entrypoint,
    refusal_from_error,
)

pytestmark = pytest.mark.unit

NOW = 1_800_000_000.0
READY = PanelState(gateway="ok", folder="demo", entrypoint="train.py", test_entrypoint="predict.py",
                   datasets=("digits",), dataset="digits")


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
    ({"test_entrypoint": None}, "Choose the test entry point: the script that answers the hidden test inputs"),
])
def test_test_needs_a_dataset_while_train_does_not(changes, words):
    buttons = decide_buttons(replace(READY, **changes), NOW)
    assert buttons.train.enabled
    assert not buttons.test.enabled and words in buttons.test.reason


def test_train_needs_its_own_entry_point_while_test_does_not():
    buttons = decide_buttons(replace(READY, entrypoint=None), NOW)
    assert not buttons.train.enabled and "Choose the entry point" in buttons.train.reason
    assert buttons.test.enabled


@pytest.mark.parametrize("scripts, kind, picks, expected", [
    (["predict.py", "train.py"], "train", {}, "train.py"),
    (["predict.py", "train.py"], "test", {}, "predict.py"),
    (["eval.sh", "src/infer.py", "train.py"], "test", {}, "src/infer.py"),  # no predict.py: the first .py
    (["eval.sh", "main.py", "train.py"], "test", {"fallback": "train.py"}, "train.py"),  # the old single picker
    (["eval.sh", "run.sh"], "test", {}, "eval.sh"),
    (["eval.sh", "run.sh"], "train", {}, "eval.sh"),
    (["predict.py", "score.py", "train.py"], "test", {"wanted": "score.py"}, "score.py"),
    (["predict.py", "score.py", "train.py"], "test", {"wanted": "gone.py", "current": "score.py"}, "score.py"),
    (["predict.py", "train.py"], "test", {"current": "other-folder.py"}, "predict.py"),
    ([], "test", {"wanted": "predict.py"}, ""),
])
def test_train_and_test_each_pick_their_own_script(scripts, kind, picks, expected):
    assert pick_entrypoint(scripts, kind, **picks) == expected


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


# Replies recorded from the gateway's GET /gpus/mine (services/gateway/routes/observability.py).
REPLY_SLICE = {"taken_at": 1_800_000_000.0, "message": "your slice: 31 % busy, 5.2 / 8 GiB", "slices": [
    {"kind": "notebook", "key": "alice/", "gpu_fraction": 0.25, "busy_ratio": 0.31, "mem_used_bytes": 5583457484,
     "mem_limit_bytes": 8589934592, "message": "your slice: 31 % busy, 5.2 / 8 GiB"}]}
REPLY_SLICE_AND_JOB = {"taken_at": 1_800_000_000.0, "slices": [
    {"kind": "job", "key": "3f2a", "gpu_fraction": 1.0, "busy_ratio": 0.97, "mem_used_bytes": 42949672960,
     "mem_limit_bytes": 85899345920, "message": "job 3f2a: 97 % busy, 40.0 / 80 GiB"},
    REPLY_SLICE["slices"][0]]}
REPLY_NO_GPU = {"slices": [], "message": "No GPU readings on this machine: NVML could not start (NVML Shared "
                "Library Not Found); is the NVIDIA driver installed?."}
REPLY_NOTHING_HELD = {"taken_at": 1_800_000_000.0, "slices": [], "message": "You hold no GPU right now."}


@pytest.mark.parametrize("reply, text, has_reading", [
    ({"available": True, **REPLY_SLICE}, "your slice: 31 % busy, 5.2 / 8 GiB", True),
    ({"available": True, **REPLY_SLICE_AND_JOB},
     "your slice: 31 % busy, 5.2 / 8 GiB · job 3f2a: 97 % busy, 40.0 / 80 GiB", True),
    ({"available": True, **REPLY_NO_GPU}, REPLY_NO_GPU["message"], False),
    ({"available": True, **REPLY_NOTHING_HELD}, "You hold no GPU right now.", False),
    ({"available": True, "slices": [], "message": "The GPU sampler is off in this gateway."},
     "The GPU sampler is off in this gateway.", False),
])
def test_the_gpu_line_shows_the_slice_figures_or_the_samplers_reason(reply, text, has_reading):
    from arenahub.widgets.views import gpu_html

    line = make_gpu_line(reply)
    assert line is not None and (line.text, line.has_reading) == (text, has_reading)
    html = gpu_html(line)
    assert text in html
    assert ("#6c757d" in html) is (not has_reading)  # no figures: in grey


def test_the_gpu_line_is_hidden_where_the_gateway_offers_no_gpu_view():
    from arenahub.widgets.views import gpu_html

    assert make_gpu_line({"available": False}) is None
    assert make_gpu_line(None) is None
    assert make_gpu_line({"available": True, "slices": []}) is None
    assert gpu_html(None) == ""
