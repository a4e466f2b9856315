from datetime import UTC, datetime, timedelta

import pytest

from arenahub.hub_config.accounts.policy import (
    PASSWORD_MAX_BYTES,
    USERNAME_MAX_CHARS,
    after_failed_sign_in,
    is_locked,
    lockout_message,
    new_password_problems,
    password_problems,
    username_problems,
)

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("name", ["alice", "a", "bob.smith", "team_7", "x-y-z", "a" * USERNAME_MAX_CHARS])
def test_plain_lower_case_names_are_accepted(name):
    assert username_problems(name) == []


@pytest.mark.parametrize("name, fragment", [
    ("", "Choose a username"),
    ("7up", "starts with a letter"),
    ("-dash", "starts with a letter"),
    ("Alice", "lower-case"),
    ("al ice", "lower-case"),
    ("../etc", "lower-case"),
    ("al/ice", "lower-case"),
    ("émile", "lower-case"),
    ("a" * (USERNAME_MAX_CHARS + 1), f"at most {USERNAME_MAX_CHARS} characters"),
])
def test_bad_usernames_are_refused_with_the_rule_they_break(name, fragment):
    problems = username_problems(name)
    assert any(fragment in p for p in problems), problems


def test_a_good_password_has_no_problems():
    assert password_problems("alice", "correct horse battery", minimum_length=8) == []


@pytest.mark.parametrize("username, password, fragment", [
    ("alice", "short", "at least 8 characters; this one has 5"),
    ("longusername", "LongUserName", "must not be the username"),
    ("alice", "password123", "most common passwords"),
    ("alice", "QWERTYUIOP", "most common passwords"),
    ("alice", "x" * (PASSWORD_MAX_BYTES + 1), f"at most {PASSWORD_MAX_BYTES} bytes"),
    ("alice", "é" * 40, f"at most {PASSWORD_MAX_BYTES} bytes"),
])
def test_weak_passwords_are_refused_with_the_reason(username, password, fragment):
    problems = password_problems(username, password, minimum_length=8)
    assert any(fragment in p for p in problems), problems


def test_minimum_length_follows_the_setting():
    assert password_problems("alice", "tiger-12", minimum_length=8) == []
    assert password_problems("alice", "tiger-12", minimum_length=12) != []


def test_every_problem_is_reported_at_once():
    problems = new_password_problems("admin", "admin", "other", minimum_length=8)
    assert len(problems) == 4  # too short, equals username, common, copies differ


def test_the_two_typed_copies_must_match():
    problems = new_password_problems("alice", "correct horse", "correct horse!", minimum_length=8)
    assert problems == ["The two passwords differ; type the same password twice."]


def test_failures_below_the_limit_only_count():
    lockout = after_failed_sign_in(3, NOW, lockout_attempts=5, lockout_s=600)
    assert (lockout.failed_attempts, lockout.locked_until) == (4, None)


def test_the_fifth_failure_locks_for_lockout_s_and_restarts_the_count():
    lockout = after_failed_sign_in(4, NOW, lockout_attempts=5, lockout_s=600)
    assert lockout.failed_attempts == 0
    assert lockout.locked_until == NOW + timedelta(minutes=10)


def test_zero_lockout_attempts_never_locks():
    lockout = after_failed_sign_in(10_000, NOW, lockout_attempts=0, lockout_s=600)
    assert lockout.locked_until is None


@pytest.mark.parametrize("locked_until, expected", [
    (None, False),
    (NOW + timedelta(seconds=1), True),
    (NOW, False),
    (NOW - timedelta(seconds=1), False),
])
def test_a_lock_holds_until_its_end(locked_until, expected):
    assert is_locked(locked_until, NOW) is expected


@pytest.mark.parametrize("left_s, words", [
    (600, "10 minutes"), (599, "10 minutes"), (61, "2 minutes"), (30, "1 minute "), (0, "1 minute ")])
def test_lockout_message_rounds_the_wait_up_to_whole_minutes(left_s, words):
    message = lockout_message(NOW + timedelta(seconds=left_s), NOW, lockout_attempts=5)
    assert words in message
    assert "5 failed sign-ins" in message
    assert "ask an organiser to unlock it" in message
