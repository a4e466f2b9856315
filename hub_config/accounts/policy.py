"""Pure account rules: which usernames and passwords are acceptable, and when to lock an account."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

USERNAME_MAX_CHARS = 32
# bcrypt reads at most 72 bytes of a password; longer ones would be silently truncated.
PASSWORD_MAX_BYTES = 72

_USERNAME_RE = re.compile(r"[a-z][a-z0-9._-]*")

# A small list of the passwords tried first by every guessing tool (lower case).
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password12", "password123", "passw0rd", "p@ssw0rd", "p@ssword",
    "12345678", "123456789", "1234567890", "123123123", "11111111", "00000000", "87654321",
    "qwerty", "qwertyui", "qwertyuiop", "qwerty123", "qwerty12", "1q2w3e4r", "1qaz2wsx",
    "asdfghjk", "asdfghjkl", "zxcvbnm1", "abc12345", "abcd1234", "abcdefgh", "a1b2c3d4",
    "iloveyou", "sunshine", "princess", "football", "baseball", "superman", "starwars",
    "whatever", "trustno1", "letmein1", "welcome1", "welcome123", "changeme", "changeme1",
    "admin123", "administrator", "computer", "internet", "jupyter1", "jupyterhub",
    "notebook", "dragon12", "monkey12", "master12", "shadow12", "michael1", "liverpool",
    "chocolate", "passpass", "secret12", "test1234", "testtest", "12341234", "11223344",
    "123456", "1234567", "12345", "111111", "qwerty1", "letmein", "welcome", "admin",
    "monkey", "dragon", "master", "shadow", "secret", "abc123",
})


class FormRefused(Exception):
    """A sign-up or password form was refused; ``problems`` lists every reason for the form."""

    def __init__(self, problems: list[str], status: int = 400):
        super().__init__(" ".join(problems))
        self.problems, self.status = problems, status


def username_problems(username: str) -> list[str]:
    """Every reason ``username`` (already normalised to lower case) cannot name an account.

    An empty list means the name is acceptable.
    """
    if not username:
        return ["Choose a username."]
    problems = []
    if len(username) > USERNAME_MAX_CHARS:
        problems.append(f"A username has at most {USERNAME_MAX_CHARS} characters; "
                        f"this one has {len(username)}.")
    if not _USERNAME_RE.fullmatch(username):
        problems.append("A username starts with a letter and holds only lower-case letters, "
                        "digits, '.', '_' and '-'.")
    return problems


def password_problems(username: str, password: str, *, minimum_length: int) -> list[str]:
    """Every reason ``password`` is too weak for ``username``; empty when it is acceptable."""
    problems = []
    if len(password) < minimum_length:
        problems.append(f"A password has at least {minimum_length} characters; "
                        f"this one has {len(password)}.")
    if len(password.encode("utf-8")) > PASSWORD_MAX_BYTES:
        problems.append(f"A password has at most {PASSWORD_MAX_BYTES} bytes "
                        "(fewer characters if you use accents or other scripts).")
    if username and password.lower() == username.lower():
        problems.append("The password must not be the username.")
    if password.lower() in COMMON_PASSWORDS:
        problems.append("This password is on the list of the most common passwords; "
                        "choose one that is harder to guess.")
    return problems


def new_password_problems(username: str, password: str, confirmation: str, *,
                          minimum_length: int) -> list[str]:
    """Like :func:`password_problems`, plus a check that both typed copies match."""
    problems = password_problems(username, password, minimum_length=minimum_length)
    if password != confirmation:
        problems.append("The two passwords differ; type the same password twice.")
    return problems


@dataclass(frozen=True)
class Lockout:
    """An account's failure counter and lock after one more failed sign-in."""

    failed_attempts: int
    locked_until: datetime | None


def after_failed_sign_in(failed_attempts: int, now: datetime, *, lockout_attempts: int,
                         lockout_s: int) -> Lockout:
    """The counter and lock after one more failure; 0 ``lockout_attempts`` never locks.

    Reaching ``lockout_attempts`` failures in a row locks the account for ``lockout_s``
    seconds and starts the count again from zero.
    """
    attempts = failed_attempts + 1
    if lockout_attempts > 0 and attempts >= lockout_attempts:
        return Lockout(failed_attempts=0, locked_until=now + timedelta(seconds=lockout_s))
    return Lockout(failed_attempts=attempts, locked_until=None)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    """True while a lock set until ``locked_until`` still holds at ``now``."""
    return locked_until is not None and now < locked_until


def lockout_message(locked_until: datetime, now: datetime, *, lockout_attempts: int) -> str:
    """What a locked-out user reads on the sign-in page."""
    minutes = max(1, -(-int((locked_until - now).total_seconds()) // 60))  # round up
    unit = "minute" if minutes == 1 else "minutes"
    return (f"This account is locked after {lockout_attempts} failed sign-ins in a row. "
            f"Try again in {minutes} {unit} (at {locked_until:%H:%M} UTC), "
            "or ask an organiser to unlock it.")


PENDING_MESSAGE = ("Your account is waiting for an organiser's approval. You can sign in as "
                   "soon as an organiser has approved it; contact them if this takes long.")
