"""notebook_end: when did a notebook run the active list no longer shows stop, according to the hub?"""

from datetime import datetime

import pytest

from arenahub.quota.notebooks import notebook_end, server_fraction, split_source_id

pytestmark = pytest.mark.unit

STARTED = "2026-11-23T10:00:00.123456Z"
SOURCE = f"ada/@{STARTED}"


def model(**server):
    return {"name": "ada", "servers": {"": server}}


def ts(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def test_a_source_id_splits_into_user_server_and_start_even_with_a_named_server():
    assert split_source_id(SOURCE) == ("ada", "", STARTED)
    assert split_source_id(f"bob/gpu-box@{STARTED}") == ("bob", "gpu-box", STARTED)


def test_a_stopped_server_ends_at_the_hubs_last_activity_stamp():
    end = notebook_end(SOURCE, model(started=None, stopped=True, last_activity="2026-11-23T10:05:30.5Z"))
    assert (end.state, end.stopped_at) == ("stopped", ts("2026-11-23T10:05:30.5Z"))


def test_a_server_still_running_the_same_run_is_not_ended():
    assert notebook_end(SOURCE, model(started=STARTED, stopped=False, last_activity=STARTED)).state == "running"


def test_a_server_started_again_or_gone_has_lost_its_stop_time():
    again = notebook_end(SOURCE, model(started="2026-11-23T11:00:00Z", stopped=False, last_activity="2026-11-23T11:00:00Z"))
    assert (again.state, again.stopped_at) == ("unknown", None)
    assert notebook_end(SOURCE, {}).state == "unknown"
    assert notebook_end(SOURCE, None).state == "unknown"
    assert notebook_end(SOURCE, {"name": "ada", "servers": {"other": {"started": None}}}).state == "unknown"
    assert notebook_end(SOURCE, model(started=None, stopped=True, last_activity=None)).state == "unknown"


def test_a_servers_fraction_follows_its_profile_and_the_default():
    profiles = {"gpu-quarter": 0.25}
    assert server_fraction({"user_options": {"profile": "gpu-quarter"}}, profiles) == 0.25
    assert server_fraction({"user_options": {}}, profiles, 0.5) == 0.5
    assert server_fraction({"user_options": {"profile": "unknown"}}, profiles, 0.1) == 0.1
