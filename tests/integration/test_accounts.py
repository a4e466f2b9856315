"""Sign-up, approval, sign-in and lockout against a real JupyterHub and configurable-http-proxy.

The hub runs ArenaAuthenticator from a minimal config file on loopback ports. Every test
drives it like a browser: httpx with a cookie jar, forms POSTed with JupyterHub's ``_xsrf``.
SQLite always, and PostgreSQL: a throwaway local server (Debian's postgresql, as `make test`
installs it), or the server ARENAHUB_TEST_PG_URL names if set (a fresh database per run).
"""

from __future__ import annotations

import html
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from arenahub.hub_config.accounts.store import make_engine_url
from tests.support.postgres import PostgresCluster
from tests.support.processes import free_port, terminate_group, wait_until_answering

pytestmark = pytest.mark.integration

PG_URL_ENV = "ARENAHUB_TEST_PG_URL"
CHP = Path(sys.executable).parent / "configurable-http-proxy"
SEEDED = ("seeded", "seeded-pass-1")
ADMIN = ("admin", "admin-pass-1")
LOCKOUT_ATTEMPTS = 5

_XSRF_FIELD = re.compile(r'name="_xsrf" value="([^"]+)"')


class Hub:
    """One JupyterHub + proxy process group on loopback, started from a minimal config."""

    def __init__(self, workdir: Path, db_url: str):
        self.workdir, self.db_url = workdir, db_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "hub.log"
        self.proc: subprocess.Popen | None = None

    def _write_config(self) -> Path:
        config = self.workdir / "jupyterhub_config.py"
        config.write_text(f"""
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {self.port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {free_port()}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{free_port()}"
c.ConfigurableHTTPProxy.command = [{str(CHP)!r}]
c.JupyterHub.db_url = {self.db_url!r}
c.JupyterHub.cookie_secret_file = {str(self.workdir / "cookie_secret")!r}
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.authenticator_class = "arenahub.hub_config.accounts.ArenaAuthenticator"
c.Authenticator.admin_users = {{{ADMIN[0]!r}}}
c.ArenaAuthenticator.seed_users = {{{SEEDED[0]!r}: {SEEDED[1]!r}}}
c.ArenaAuthenticator.lockout_attempts = {LOCKOUT_ATTEMPTS}
c.ArenaAuthenticator.password_hash_rounds = 4  # fast tests; production keeps 12
""")
        return config

    def start(self, timeout_s: float = 60) -> Hub:
        config = self._write_config()
        env = {**os.environ, "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16)}
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.workdir,
                env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_until_answering(self.proc, f"{self.url}/hub/api/", timeout_s, self.log_tail)
        return self

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        terminate_group(self.proc)  # the hub stops the proxy it started

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def browser(self) -> Browser:
        return Browser(httpx.Client(base_url=self.url, timeout=30, follow_redirects=False))


class Browser:
    """A cookie-keeping client that fills forms the way a browser would."""

    def __init__(self, client: httpx.Client):
        self.client = client

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def submit(self, path: str, fields: dict[str, str], *, form_page: str | None = None) -> httpx.Response:
        """GET the page holding the form (``path`` unless told), then POST it with its _xsrf."""
        page = self.client.get(form_page or path)
        found = _XSRF_FIELD.search(page.text)
        assert found, f"no _xsrf field on {form_page or path}: {page.status_code}"
        return self.client.post(path, data={"_xsrf": found.group(1), **fields})

    def sign_up(self, name: str, password: str, confirmation: str | None = None) -> httpx.Response:
        return self.submit("/hub/signup", {"username": name, "password": password,
                                           "password_confirmation": confirmation or password})

    def sign_in(self, name: str, password: str) -> httpx.Response:
        return self.submit("/hub/login", {"username": name, "password": password})

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        """Call the REST API with the session cookie and the _xsrf cookie as header."""
        self.client.get("/hub/home")  # a page view refreshes the _xsrf cookie for this session
        xsrf = self.client.cookies.get("_xsrf", path="/hub/")
        return self.client.request(method, f"/hub/api{path}", headers={"X-XSRFToken": xsrf}, **kwargs)

    def decide(self, decision: str, name: str) -> httpx.Response:
        return self.submit("/hub/authorize", {"decision": decision, "username": name})


def _text(response: httpx.Response) -> str:
    return html.unescape(response.text)


def _state(accounts_page: httpx.Response, name: str) -> str | None:
    """The state the accounts page shows for ``name``: approved, pending, or None (absent)."""
    found = re.search(rf'data-username="{re.escape(name)}"\s+data-state="(\w+)"', accounts_page.text)
    return found.group(1) if found else None


def _fresh_pg_database(base_url: str) -> Iterator[str]:
    import psycopg

    url = make_engine_url(base_url)
    name = f"arenahub_accounts_{secrets.token_hex(4)}"
    admin_dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def hub(request, tmp_path_factory) -> Iterator[Hub]:
    workdir = tmp_path_factory.mktemp(f"accounts-{request.param}")
    if request.param == "sqlite":
        databases: Iterator[str] = iter([f"sqlite:///{workdir / 'jupyterhub.sqlite'}"])
    elif os.environ.get(PG_URL_ENV):
        databases = _fresh_pg_database(os.environ[PG_URL_ENV])
    else:  # a throwaway PostgreSQL server of our own, like the gateway tests
        reason = PostgresCluster.missing_reason()
        if reason:
            pytest.skip(reason)
        cluster = PostgresCluster().start()
        request.addfinalizer(cluster.stop)
        databases = iter([cluster.create_database("accounts")])
    running = Hub(workdir, next(databases)).start()
    try:
        yield running
    finally:
        running.stop()
        next(databases, None)  # drops the PostgreSQL database


@pytest.fixture(scope="module")
def admin(hub: Hub) -> Iterator[Browser]:
    """The admin named in config, signed up (approved at once) and signed in."""
    with hub.browser() as browser:
        signed_up = browser.sign_up(*ADMIN)
        assert signed_up.status_code == 200 and 'id="signup-approved"' in signed_up.text, hub.log_tail()
        assert browser.sign_in(*ADMIN).status_code == 302
        yield browser


@pytest.fixture
def visitor(hub: Hub) -> Iterator[Browser]:
    with hub.browser() as browser:
        yield browser


def test_the_login_page_links_to_sign_up(visitor):
    page = visitor.get("/hub/login")
    assert page.status_code == 200
    assert 'href="/hub/signup"' in page.text and "an organiser approves new accounts" in page.text


def test_the_admin_named_in_config_is_approved_at_sign_up_and_is_an_admin(admin):
    me = admin.api("GET", "/user")
    assert me.status_code == 200
    assert (me.json()["name"], me.json()["admin"]) == ("admin", True)


def test_a_new_participant_waits_for_approval_and_the_login_page_says_so(visitor):
    signed_up = visitor.sign_up("pat", "pat-password-1")
    assert signed_up.status_code == 200 and 'id="signup-pending"' in signed_up.text
    refused = visitor.sign_in("pat", "pat-password-1")
    assert refused.status_code == 403
    assert "waiting for an organiser's approval" in _text(refused)
    assert "jupyterhub-hub-login" not in visitor.client.cookies


def test_an_approved_participant_signs_in_and_uses_the_api_with_a_token(admin, visitor, hub):
    visitor.sign_up("ann", "ann-password-1")
    listed = admin.get("/hub/authorize")
    assert listed.status_code == 200
    assert _state(listed, "ann") == "pending"
    approved = admin.decide("approve", "ann")
    assert approved.status_code == 200 and "Approved ann" in approved.text
    assert _state(approved, "ann") == "approved"
    assert visitor.sign_in("ann", "ann-password-1").status_code == 302
    me = visitor.api("GET", "/user")
    assert (me.status_code, me.json()["name"], me.json()["admin"]) == (200, "ann", False)
    made = visitor.api("POST", "/users/ann/tokens", json={"note": "test", "expires_in": 600})
    assert made.status_code == 201
    with_token = httpx.get(f"{hub.url}/hub/api/user",
                           headers={"Authorization": f"token {made.json()['token']}"})
    assert with_token.json()["name"] == "ann"


def test_a_wrong_password_is_refused(admin, visitor):
    visitor.sign_up("wes", "wes-password-1")
    admin.decide("approve", "wes")
    refused = visitor.sign_in("wes", "wes-password-2")
    assert refused.status_code == 403 and "Invalid username or password" in refused.text
    assert visitor.sign_in("nobody-here", "wes-password-1").status_code == 403


def test_five_wrong_passwords_lock_the_account_until_an_admin_unlocks_it(admin, visitor):
    visitor.sign_up("lou", "lou-password-1")
    admin.decide("approve", "lou")
    for _ in range(LOCKOUT_ATTEMPTS - 1):
        assert "Invalid username or password" in visitor.sign_in("lou", "guess-guess").text
    locked = visitor.sign_in("lou", "guess-guess")
    assert locked.status_code == 403 and "locked after 5 failed sign-ins" in locked.text
    still_locked = visitor.sign_in("lou", "lou-password-1")
    assert still_locked.status_code == 403 and "Try again in 10 minutes" in still_locked.text
    assert admin.decide("unlock", "lou").status_code == 200
    assert visitor.sign_in("lou", "lou-password-1").status_code == 302


@pytest.mark.parametrize("name, password, confirmation, problem", [
    ("weak", "short", "short", "at least 8 characters"),
    ("samename", "samename", "samename", "must not be the username"),
    ("common", "password123", "password123", "most common passwords"),
    ("typo", "typo-password-1", "typo-password-2", "The two passwords differ"),
    ("9lives", "nine-lives-1", "nine-lives-1", "starts with a letter"),
])
def test_weak_passwords_and_bad_names_are_refused_at_sign_up(visitor, name, password, confirmation, problem):
    refused = visitor.sign_up(name, password, confirmation)
    assert refused.status_code == 400
    assert problem in _text(refused)
    assert f'value="{name}"' in refused.text  # the form keeps what was typed
    assert visitor.sign_in(name, password).status_code == 403


def test_a_taken_name_is_refused(visitor):
    visitor.sign_up("tia", "tia-password-1")
    taken = visitor.sign_up("TIA", "other-password-1")
    assert taken.status_code == 409 and "The name 'tia' is taken" in _text(taken)


def test_a_sign_up_without_the_xsrf_field_is_refused_and_creates_nothing(visitor, admin):
    visitor.get("/hub/signup")
    forged = visitor.client.post("/hub/signup", data={"username": "eve", "password": "eve-password-1",
                                                      "password_confirmation": "eve-password-1"})
    assert forged.status_code == 403
    assert _state(admin.get("/hub/authorize"), "eve") is None


def test_a_participant_cannot_open_or_use_the_accounts_page(admin, visitor):
    visitor.sign_up("max", "max-password-1")
    admin.decide("approve", "max")
    visitor.sign_in("max", "max-password-1")
    assert visitor.get("/hub/authorize").status_code == 403
    assert 'href="/hub/authorize"' not in visitor.get("/hub/home").text
    assert 'href="/hub/authorize"' in admin.get("/hub/home").text
    forged = visitor.submit("/hub/authorize", {"decision": "approve", "username": "pat"},
                            form_page="/hub/change-password")
    assert forged.status_code == 403
    assert _state(admin.get("/hub/authorize"), "pat") == "pending"


def test_anonymous_visitors_are_sent_to_sign_in_from_the_accounts_page(visitor):
    page = visitor.get("/hub/authorize")
    assert page.status_code == 302 and "/hub/login" in page.headers["location"]


def test_an_unknown_decision_is_refused_with_the_valid_ones(admin):
    refused = admin.decide("promote", "pat")
    assert refused.status_code == 400
    assert "Valid decisions: approve, discard, revoke, unlock" in _text(refused)


def test_seeded_users_sign_in_without_approval(visitor):
    assert visitor.sign_in(*SEEDED).status_code == 302
    assert visitor.api("GET", "/user").json()["name"] == SEEDED[0]


def test_a_participant_changes_their_password(admin, visitor, hub):
    visitor.sign_up("cas", "cas-password-1")
    admin.decide("approve", "cas")
    visitor.sign_in("cas", "cas-password-1")
    fields = {"current_password": "cas-password-1", "password": "cas-password-2",
              "password_confirmation": "cas-password-2"}
    wrong = visitor.submit("/hub/change-password", {**fields, "current_password": "nope-nope"})
    assert wrong.status_code == 403 and "current password is wrong" in wrong.text
    changed = visitor.submit("/hub/change-password", fields)
    assert changed.status_code == 200 and 'id="password-changed"' in changed.text
    with hub.browser() as again:
        assert again.sign_in("cas", "cas-password-1").status_code == 403
        assert again.sign_in("cas", "cas-password-2").status_code == 302


def test_revoking_signs_a_participant_out_and_keeps_them_out(admin, visitor):
    visitor.sign_up("rex", "rex-password-1")
    admin.decide("approve", "rex")
    visitor.sign_in("rex", "rex-password-1")
    assert visitor.get("/hub/change-password").status_code == 200
    assert admin.decide("revoke", "rex").status_code == 200
    assert visitor.get("/hub/change-password").status_code == 302  # back to the login page
    refused = visitor.sign_in("rex", "rex-password-1")
    assert refused.status_code == 403 and "waiting for an organiser's approval" in _text(refused)


def test_an_admin_cannot_revoke_their_own_account(admin):
    refused = admin.decide("revoke", "admin")
    assert refused.status_code == 400 and "cannot revoke your own account" in refused.text


def test_discarding_a_sign_up_frees_the_name(admin, visitor):
    visitor.sign_up("dot", "dot-password-1")
    discarded = admin.decide("discard", "dot")
    assert discarded.status_code == 200 and "the name is free again" in discarded.text
    assert admin.decide("discard", "dot").status_code == 404
    assert 'id="signup-pending"' in visitor.sign_up("dot", "dot-password-2").text


def test_deleting_a_hub_user_deletes_their_account(admin, visitor):
    visitor.sign_up("del", "del-password-1")
    admin.decide("approve", "del")
    assert visitor.sign_in("del", "del-password-1").status_code == 302
    assert admin.api("DELETE", "/users/del").status_code == 204
    assert _state(admin.get("/hub/authorize"), "del") is None
    assert visitor.sign_in("del", "del-password-1").status_code == 403
    assert 'id="signup-pending"' in visitor.sign_up("del", "del-password-2").text
