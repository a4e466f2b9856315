"""Tests of arenahub.gateway.auth: token headers, scopes, and the brief cache of hub answers."""

import httpx
import pytest

from arenahub.core.errors import NotAuthenticated, ServiceUnavailable
from arenahub.gateway.auth import HubAuth, Principal, token_from_header
from arenahub.core.gateway_roles import READ_ALL_SCOPE, SUBMIT_SCOPE

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("header, token", [
    ("token abc", "abc"),
    ("Bearer abc", "abc"),
    ("bearer   abc ", "abc"),
    ("Basic abc", None),
    ("token", None),
    ("", None),
    (None, None),
])
def test_tokens_come_from_token_or_bearer_headers(header, token):
    assert token_from_header(header) == token


def test_a_participant_sees_only_their_own_jobs():
    ada = Principal("ada", frozenset({SUBMIT_SCOPE}))
    assert ada.may_see("ada") and not ada.may_see("bob") and not ada.can_read_all


def test_an_admin_sees_everyones_jobs():
    olga = Principal("olga", frozenset({READ_ALL_SCOPE}))
    assert olga.may_see("ada") and olga.may_see("olga")


def test_a_submit_scope_filtered_to_the_user_counts_as_submit():
    assert Principal("ada", frozenset({f"{SUBMIT_SCOPE}!user=ada"})).can_submit
    assert not Principal("ada", frozenset({f"{SUBMIT_SCOPE}!user=bob"})).can_submit


class FakeHub:
    """A hub API answering GET /user from a token table, counting calls (httpx.MockTransport handler)."""

    def __init__(self, users):
        self.users, self.calls = users, 0

    def __call__(self, request):
        self.calls += 1
        token = request.headers["Authorization"].removeprefix("token ")
        if token not in self.users:
            return httpx.Response(403, json={"status": 403, "message": "Forbidden"})
        return httpx.Response(200, json={"kind": "user", "name": self.users[token], "scopes": [SUBMIT_SCOPE]})


async def test_answers_are_cached_until_they_expire():
    hub, now = FakeHub({"t1": "ada"}), [0.0]
    async with httpx.AsyncClient(transport=httpx.MockTransport(hub)) as client:
        auth = HubAuth("http://hub/hub/api", cache_s=30, client=client, clock=lambda: now[0])
        assert (await auth.fetch_principal("t1")).name == "ada"
        await auth.fetch_principal("t1")
        assert hub.calls == 1
        now[0] = 31
        await auth.fetch_principal("t1")
        assert hub.calls == 2


async def test_a_token_the_hub_refuses_is_not_authenticated():
    async with httpx.AsyncClient(transport=httpx.MockTransport(FakeHub({}))) as client:
        with pytest.raises(NotAuthenticated):
            await HubAuth("http://hub/hub/api", cache_s=30, client=client).fetch_principal("nope")


async def test_an_unreachable_hub_is_a_503():
    def unreachable(request):
        raise httpx.ConnectError("connection refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as client:
        with pytest.raises(ServiceUnavailable):
            await HubAuth("http://hub/hub/api", cache_s=30, client=client).fetch_principal("t")
