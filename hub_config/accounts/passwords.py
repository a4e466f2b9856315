"""bcrypt password hashing; CPU-bound by design, so async callers run these in a thread."""

from __future__ import annotations

import bcrypt

from .policy import PASSWORD_MAX_BYTES


def hash_password(password: str, *, rounds: int) -> str:
    """The bcrypt hash of ``password`` (cost ``rounds``), as ASCII text for the database.

    Raises ValueError for a password longer than bcrypt's 72-byte limit.
    """
    secret = password.encode("utf-8")
    if len(secret) > PASSWORD_MAX_BYTES:
        raise ValueError(f"A password has at most {PASSWORD_MAX_BYTES} bytes.")
    return bcrypt.hashpw(secret, bcrypt.gensalt(rounds=rounds)).decode("ascii")


def check_password(password: str, password_hash: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for a malformed hash too."""
    secret = password.encode("utf-8")
    if len(secret) > PASSWORD_MAX_BYTES:
        return False  # never stored: hash_password refuses such passwords
    try:
        return bcrypt.checkpw(secret, password_hash.encode("ascii"))
    except ValueError:
        return False


def spend_check_time(password: str, rounds: int) -> None:
    """Spend about as long as :func:`check_password` on a real hash of cost ``rounds``.

    Called when a username is unknown, so that a miss costs as long as a wrong password and
    response times do not tell which usernames exist.
    """
    bcrypt.hashpw(password.encode("utf-8")[:PASSWORD_MAX_BYTES], bcrypt.gensalt(rounds=rounds))
