"""ArenaAuthenticator: self sign-up, approval by an organiser, bcrypt passwords and lockout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jupyterhub.auth import Authenticator
from tornado import web
from traitlets import Bool, Dict, Integer, Unicode, default

from . import policy
from .handlers import account_handlers
from .passwords import check_password, hash_password, spend_check_time
from .policy import FormRefused
from .store import Account, AccountError, AccountExists, AccountNotFound, AccountStore

TEMPLATES_DIR = Path(__file__).parent / "templates"

SEED_APPROVER = "seed_users"  # approved_by of accounts created from configuration
SIGNUP_APPROVER = "signup"  # approved_by of accounts approved at sign-up (admins, open sign-up)


# What an admin may do to an account at /hub/authorize.
DECISIONS = ("approve", "discard", "revoke", "unlock")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ArenaAuthenticator(Authenticator):
    """Username and password accounts kept in the hub's database.

    People sign up at ``/hub/signup``; their account waits until an admin approves it at
    ``/hub/authorize`` (unless ``open_signup`` is on or the name is in ``admin_users``).
    Signed-in users change their password at ``/hub/change-password``.
    """

    open_signup = Bool(
        False,
        help="""Approve every new account at sign-up. Off (the default): each new account
        waits until an admin approves it at /hub/authorize. Turn it on only for a hub that
        anyone who can reach it may use.""",
    ).tag(config=True)

    seed_users = Dict(
        key_trait=Unicode(), value_trait=Unicode(),
        help="""Accounts to create approved when the hub starts, {username: password}.
        Existing accounts keep their password. Empty: none. Meant for the demo mode;
        leave empty in production.""",
    ).tag(config=True)

    minimum_password_length = Integer(
        8, min=1,
        help="""Fewest characters a new password may have. Passwords equal to the username
        or on a short list of common passwords are refused whatever their length.""",
    ).tag(config=True)

    lockout_attempts = Integer(
        5, min=0,
        help="""Failed sign-ins in a row that lock an account for lockout_s seconds.
        0 never locks. An admin can unlock an account early at /hub/authorize.""",
    ).tag(config=True)

    lockout_s = Integer(
        600, min=1,
        help="""Seconds an account stays locked after lockout_attempts failed sign-ins.""",
    ).tag(config=True)

    password_hash_rounds = Integer(
        12, min=4, max=31,
        help="""bcrypt cost factor of new password hashes; each step doubles the time a
        hash takes (12: 0.2 to 0.7 s of one core per sign-in, sign-up or password change).
        Raise it as machines get faster; existing hashes keep the cost they were made with.""",
    ).tag(config=True)

    db_url = Unicode(
        help="""Database URL of the accounts table (SQLAlchemy form). Empty: the hub's own
        JupyterHub.db_url, so accounts live next to the hub's users. A plain postgresql://
        URL is opened with the psycopg 3 driver.""",
    ).tag(config=True)

    @default("db_url")
    def _db_url_default(self) -> str:
        return getattr(self.parent, "db_url", "") or "sqlite:///jupyterhub.sqlite"

    @default("any_allow_config")
    def _any_allow_config_default(self) -> bool:
        return True  # approval at /hub/authorize is the allow list

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.store = AccountStore(self.db_url)
        self.store.ensure_schema()
        self._register_templates()
        self.ensure_seed_users(_utcnow())

    def _register_templates(self) -> None:
        """Put our templates before JupyterHub's own, after any the operator configured."""
        paths = getattr(self.parent, "template_paths", None)
        if paths is None or str(TEMPLATES_DIR) in paths:
            return
        stock: list[str] = getattr(self.parent, "_template_paths_default", list)()
        position = next((i for i, p in enumerate(paths) if p in stock), len(paths))
        self.parent.template_paths = [*paths[:position], str(TEMPLATES_DIR), *paths[position:]]

    def ensure_seed_users(self, now: datetime) -> None:
        """Create each seeded account that does not exist yet, approved (safe to repeat)."""
        for raw_name, password in self.seed_users.items():
            username = self.normalize_username(raw_name)
            problems = policy.username_problems(username) + policy.password_problems(
                username, password, minimum_length=self.minimum_password_length)
            if problems:
                raise ValueError(f"ArenaAuthenticator.seed_users['{raw_name}']: "
                                 + " ".join(problems))
            existing = self.store.find(username)
            if existing is not None:
                if not existing.is_approved:
                    self.log.warning("Seeded account %s exists but waits for approval", username)
                continue
            self.store.create(username, hash_password(password, rounds=self.password_hash_rounds),
                              now=now, approved_by=SEED_APPROVER)
            self.log.info("Seeded approved account %s", username)

    def is_approved_at_signup(self, username: str) -> bool:
        """True when a new account named ``username`` needs no admin approval."""
        return self.open_signup or username in self.admin_users

    def is_name_available(self, username: str) -> bool:
        """False for names JupyterHub would refuse or that are blocked."""
        return self.validate_username(username) and username not in self.blocked_users

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(hash_password, password, rounds=self.password_hash_rounds)

    async def sign_up(self, raw_username: str, password: str, confirmation: str,
                      now: datetime) -> Account:
        """Create an account, approved or waiting for approval; raises FormRefused."""
        username = self.normalize_username(raw_username)
        problems = policy.username_problems(username)
        if not problems and not self.is_name_available(username):
            problems.append(f"The name '{username}' is not available; choose another.")
        problems += policy.new_password_problems(
            username, password, confirmation, minimum_length=self.minimum_password_length)
        if problems:
            raise FormRefused(problems)
        if self.store.find(username) is not None:
            raise FormRefused([str(AccountExists(username))], status=409)
        approver = SIGNUP_APPROVER if self.is_approved_at_signup(username) else None
        try:
            account = self.store.create(username, await self._hash(password), now=now,
                                        approved_by=approver)
        except AccountExists as err:  # someone took the name while we were hashing
            raise FormRefused([str(err)], status=409) from err
        self.log.info("Account %s signed up (%s)", username,
                      "approved" if account.is_approved else "waiting for approval")
        return account

    async def change_password(self, username: str, current: str, new: str, confirmation: str,
                              now: datetime) -> None:
        """Replace the password of ``username`` after checking the current one.

        A wrong current password counts as a failed sign-in. Raises FormRefused.
        """
        account = self.store.find(username)
        if account is None:
            raise FormRefused([f"'{username}' has no password on this hub (the account was "
                               "made by an admin or a service); there is nothing to change."])
        if account.locked_until is not None and policy.is_locked(account.locked_until, now):
            raise FormRefused([policy.lockout_message(
                account.locked_until, now, lockout_attempts=self.lockout_attempts)], status=403)
        if not await asyncio.to_thread(check_password, current, account.password_hash):
            self.store.record_failed_sign_in(username, now=now,
                                             lockout_attempts=self.lockout_attempts,
                                             lockout_s=self.lockout_s)
            raise FormRefused(["The current password is wrong."], status=403)
        problems = policy.new_password_problems(
            username, new, confirmation, minimum_length=self.minimum_password_length)
        if problems:
            raise FormRefused(problems)
        self.store.set_password_hash(username, await self._hash(new))
        self.store.record_sign_in(username)
        self.log.info("Account %s changed its password", username)

    def decide(self, decision: str, username: str, *, by: str, now: datetime) -> str:
        """Apply an admin's decision to an account; returns what happened, in words.

        Raises AccountError (unknown decision, no such account, or a decision that does
        not fit the account's state).
        """
        if decision not in DECISIONS:
            raise AccountError(f"Unknown decision '{decision}'. Valid decisions: "
                               + ", ".join(DECISIONS) + ".")
        if decision == "approve":
            self.store.approve(username, by=by, now=now)
            message = f"Approved {username}; they can sign in now."
        elif decision == "discard":
            account = self.store.find(username)
            if account is not None and account.is_approved:
                raise AccountError(f"'{username}' is approved: revoke the account instead, "
                                   "or delete the user on the Admin page.")
            if not self.store.delete(username):
                raise AccountNotFound(username)
            message = f"Discarded the sign-up of {username}; the name is free again."
        elif decision == "revoke":
            if username == by:
                raise AccountError("You cannot revoke your own account; ask another admin.")
            self.store.revoke(username)
            message = (f"Revoked {username}: they are signed out and cannot sign in until "
                       "approved again.")
        else:
            self.store.unlock(username)
            message = f"Unlocked {username}; they can try to sign in again."
        self.log.info("%s: %s", by, message)
        return message

    async def authenticate(self, handler: web.RequestHandler, data: dict[str, str]) -> str | None:
        """The username when the password is right and the account approved, else None.

        Raises HTTPError 403 with a message for the sign-in page when the account is locked,
        has just been locked, or waits for approval.
        """
        username = self.normalize_username(data.get("username", ""))
        password = data.get("password", "")
        now = _utcnow()
        account = self.store.find(username)
        if account is None:
            await asyncio.to_thread(spend_check_time, password, self.password_hash_rounds)
            return None
        if account.locked_until is not None and policy.is_locked(account.locked_until, now):
            raise web.HTTPError(403, policy.lockout_message(
                account.locked_until, now, lockout_attempts=self.lockout_attempts))
        if not await asyncio.to_thread(check_password, password, account.password_hash):
            lockout = self.store.record_failed_sign_in(
                username, now=now, lockout_attempts=self.lockout_attempts,
                lockout_s=self.lockout_s)
            if lockout.locked_until is not None:
                self.log.warning("Account %s locked until %s after %d failed sign-ins",
                                 username, lockout.locked_until, self.lockout_attempts)
                raise web.HTTPError(403, policy.lockout_message(
                    lockout.locked_until, now, lockout_attempts=self.lockout_attempts))
            return None
        self.store.record_sign_in(username)
        if not account.is_approved:
            raise web.HTTPError(403, policy.PENDING_MESSAGE)
        return username

    def check_allowed(self, username: str, authentication: dict | None = None) -> bool:
        """Approved accounts may use the hub, as may any name the base rules allow."""
        account = self.store.find(username)
        if account is not None and account.is_approved:
            return True
        return super().check_allowed(username, authentication)

    async def refresh_user(self, user: Any, handler: web.RequestHandler | None = None) -> bool:
        """False (sign in again) once the user's account has been revoked; True otherwise.

        Users JupyterHub knows without an account (created by an admin or the API) are left
        alone: they have no password here and are reached only with tokens.
        """
        account = self.store.find(user.name)
        return account is None or account.is_approved

    def delete_user(self, user: Any) -> None:
        """Delete the account with the JupyterHub user, freeing the name."""
        super().delete_user(user)
        if self.store.delete(user.name):
            self.log.info("Deleted account %s with its hub user", user.name)

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        """The stock login page plus sign-up, approval and password-change pages."""
        return [*super().get_handlers(app), *account_handlers()]
