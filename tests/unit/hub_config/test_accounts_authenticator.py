from datetime import UTC, datetime

import pytest
from tornado import web

from arenahub.hub_config.accounts import ArenaAuthenticator
from arenahub.hub_config.accounts.policy import FormRefused
from arenahub.hub_config.accounts.store import AccountError

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def make_authenticator(tmp_path):
    made = []

    def make(**traits):
        authenticator = ArenaAuthenticator(db_url=f"sqlite:///{tmp_path / 'hub.sqlite'}",
                                           password_hash_rounds=4, admin_users={"boss"}, **traits)
        made.append(authenticator)
        return authenticator

    yield make
    for authenticator in made:
        authenticator.store.dispose()


async def sign_in(authenticator, name, password):
    return await authenticator.authenticate(None, {"username": name, "password": password})


async def test_admins_from_config_are_approved_at_sign_up_and_others_wait(make_authenticator):
    auth = make_authenticator()
    assert (await auth.sign_up("Boss", "boss-password-1", "boss-password-1", NOW)).is_approved
    assert not (await auth.sign_up("pat", "pat-password-1", "pat-password-1", NOW)).is_approved
    assert await sign_in(auth, "BOSS", "boss-password-1") == "boss"
    with pytest.raises(web.HTTPError, match="waiting for an organiser's approval"):
        await sign_in(auth, "pat", "pat-password-1")
    assert not auth.check_allowed("pat")
    auth.decide("approve", "pat", by="boss", now=NOW)
    assert await sign_in(auth, "pat", "pat-password-1") == "pat"
    assert auth.check_allowed("pat")


async def test_open_signup_approves_everyone(make_authenticator):
    auth = make_authenticator(open_signup=True)
    assert (await auth.sign_up("amy", "amy-password-1", "amy-password-1", NOW)).is_approved


async def test_sign_up_reports_every_problem_and_taken_names_with_409(make_authenticator):
    auth = make_authenticator(blocked_users={"mallory"})
    with pytest.raises(FormRefused) as refused:
        await auth.sign_up("7", "7", "8", NOW)
    assert refused.value.status == 400 and len(refused.value.problems) == 4
    with pytest.raises(FormRefused, match="'mallory' is not available"):
        await auth.sign_up("mallory", "mallory-pass-1", "mallory-pass-1", NOW)
    await auth.sign_up("tia", "tia-password-1", "tia-password-1", NOW)
    with pytest.raises(FormRefused, match="'tia' is taken") as taken:
        await auth.sign_up("tia", "tia-password-2", "tia-password-2", NOW)
    assert taken.value.status == 409


async def test_lockout_after_the_configured_failures(make_authenticator):
    auth = make_authenticator(lockout_attempts=3, lockout_s=60)
    await auth.sign_up("boss", "boss-password-1", "boss-password-1", NOW)
    assert await sign_in(auth, "boss", "wrong-wrong") is None
    assert await sign_in(auth, "boss", "wrong-wrong") is None
    with pytest.raises(web.HTTPError, match="locked after 3 failed sign-ins"):
        await sign_in(auth, "boss", "wrong-wrong")
    with pytest.raises(web.HTTPError, match="Try again in 1 minute"):
        await sign_in(auth, "boss", "boss-password-1")
    assert await sign_in(auth, "nobody", "boss-password-1") is None


async def test_seed_users_are_approved_and_keep_a_changed_password_on_restart(make_authenticator):
    auth = make_authenticator(seed_users={"demo": "demo-pass-12"})
    assert await sign_in(auth, "demo", "demo-pass-12") == "demo"
    await auth.change_password("demo", "demo-pass-12", "new-demo-pass", "new-demo-pass", NOW)
    restarted = make_authenticator(seed_users={"demo": "demo-pass-12"})
    assert await sign_in(restarted, "demo", "new-demo-pass") == "demo"


def test_weak_seed_passwords_stop_the_hub_with_the_setting_named(make_authenticator):
    with pytest.raises(ValueError, match=r"seed_users\['demo'\]: .*at least 8 characters"):
        make_authenticator(seed_users={"demo": "short"})


async def test_decisions_that_do_not_fit_the_account_are_refused(make_authenticator):
    auth = make_authenticator()
    await auth.sign_up("boss", "boss-password-1", "boss-password-1", NOW)
    with pytest.raises(AccountError, match="Valid decisions: approve, discard, revoke, unlock"):
        auth.decide("promote", "boss", by="boss", now=NOW)
    with pytest.raises(AccountError, match="revoke the account instead"):
        auth.decide("discard", "boss", by="other", now=NOW)
    with pytest.raises(AccountError, match="cannot revoke your own account"):
        auth.decide("revoke", "boss", by="boss", now=NOW)
    with pytest.raises(AccountError, match="no account named 'ghost'"):
        auth.decide("approve", "ghost", by="boss", now=NOW)


async def test_revoked_accounts_must_sign_in_again_and_unknown_hub_users_are_left_alone(make_authenticator):
    class HubUser:
        def __init__(self, name):
            self.name = name

    auth = make_authenticator(open_signup=True)
    await auth.sign_up("rex", "rex-password-1", "rex-password-1", NOW)
    assert await auth.refresh_user(HubUser("rex")) is True
    auth.decide("revoke", "rex", by="boss", now=NOW)
    assert await auth.refresh_user(HubUser("rex")) is False
    assert await auth.refresh_user(HubUser("made-by-api")) is True
    auth.delete_user(HubUser("rex"))
    assert auth.store.find("rex") is None
