"""The hub pages of the accounts: /hub/signup, /hub/authorize and /hub/change-password.

HTTP in and out only: every decision is made by ArenaAuthenticator and the pure policy.
All forms are POSTed with JupyterHub's ``_xsrf`` field, which BaseHandler checks.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from jupyterhub import orm
from jupyterhub.handlers import BaseHandler
from jupyterhub.scopes import needs_scope
from jupyterhub.utils import new_token
from tornado import web

from .policy import FormRefused
from .store import AccountError, AccountNotFound

if TYPE_CHECKING:
    from .authenticator import ArenaAuthenticator


class _AccountPage(BaseHandler):
    @property
    def accounts(self) -> ArenaAuthenticator:
        return self.authenticator

    def form_value(self, name: str) -> str:
        """A form field as typed: passwords may start or end with spaces."""
        return self.get_body_argument(name, default="", strip=False)

    async def show(self, template: str, status: int = 200, **ns: Any) -> None:
        self.set_status(status)
        self.finish(await self.render_template(template, **ns))


class SignUpHandler(_AccountPage):
    """GET: the sign-up form. POST: create an account, approved or waiting for approval."""

    def _page(self, **ns: Any) -> dict[str, Any]:
        return {"minimum_password_length": self.accounts.minimum_password_length,
                "username": "", "problems": [], "account": None, **ns}

    async def get(self) -> None:
        await self.show("accounts-signup.html", **self._page())

    async def post(self) -> None:
        username = self.get_body_argument("username", default="", strip=True)
        try:
            account = await self.accounts.sign_up(
                username, self.form_value("password"), self.form_value("password_confirmation"),
                now=datetime.now(UTC))
        except FormRefused as err:
            await self.show("accounts-signup.html", err.status,
                            **self._page(username=username, problems=err.problems))
            return
        await self.show("accounts-signup.html", **self._page(account=account))


class AuthorizeHandler(_AccountPage):
    """Admins only. GET: every account. POST: approve, discard, revoke or unlock one."""

    async def _show_accounts(self, status: int = 200, *, message: str = "", error: str = "") -> None:
        await self.show("accounts-authorize.html", status, accounts=self.accounts.store.list_accounts(),
                        now=datetime.now(UTC), message=message, error=error)

    @web.authenticated
    @needs_scope("admin:users")
    async def get(self) -> None:
        await self._show_accounts()

    @web.authenticated
    @needs_scope("admin:users")
    async def post(self) -> None:
        decision = self.get_body_argument("decision", default="")
        username = self.get_body_argument("username", default="", strip=True)
        try:
            message = self.accounts.decide(decision, username, by=self.current_user.name,
                                           now=datetime.now(UTC))
        except AccountNotFound as err:
            await self._show_accounts(404, error=str(err))
            return
        except AccountError as err:
            await self._show_accounts(400, error=str(err))
            return
        if decision == "revoke":
            self._end_sessions(username)
        await self._show_accounts(message=message)

    def _end_sessions(self, username: str) -> None:
        """Sign ``username`` out of every browser: their login cookies name the old id."""
        orm_user = orm.User.find(self.db, username)
        if orm_user is not None:
            orm_user.cookie_id = new_token()
            self.db.commit()


class ChangePasswordHandler(_AccountPage):
    """Signed-in users. GET: the form. POST: check the current password, store the new one."""

    def _page(self, **ns: Any) -> dict[str, Any]:
        return {"minimum_password_length": self.accounts.minimum_password_length,
                "problems": [], "changed": False, **ns}

    @web.authenticated
    async def get(self) -> None:
        await self.show("accounts-change-password.html", **self._page())

    @web.authenticated
    async def post(self) -> None:
        try:
            await self.accounts.change_password(
                self.current_user.name, self.form_value("current_password"),
                self.form_value("password"), self.form_value("password_confirmation"),
                now=datetime.now(UTC))
        except FormRefused as err:
            await self.show("accounts-change-password.html", err.status,
                            **self._page(problems=err.problems))
            return
        await self.show("accounts-change-password.html", **self._page(changed=True))


def account_handlers() -> list[tuple[str, type[BaseHandler]]]:
    """Routes under the hub prefix (JupyterHub adds ``/hub``)."""
    return [
        (r"/signup", SignUpHandler),
        (r"/authorize", AuthorizeHandler),
        (r"/change-password", ChangePasswordHandler),
    ]
