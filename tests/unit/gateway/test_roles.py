"""Tests of arenahub.core.gateway_roles: the scopes and roles the hub config loads for the gateway."""

import pytest

from arenahub.gateway import READ_ALL_SCOPE, SUBMIT_SCOPE, hub_roles

pytestmark = pytest.mark.unit


def roles_by_name(**kwargs):
    return {role["name"]: role for role in hub_roles(**kwargs)["load_roles"]}


def test_both_custom_scopes_are_declared_with_descriptions():
    scopes = hub_roles()["custom_scopes"]
    assert set(scopes) == {SUBMIT_SCOPE, READ_ALL_SCOPE}
    assert all(spec["description"] for spec in scopes.values())


def test_users_and_their_servers_may_submit_but_not_read_all():
    roles = roles_by_name(service_name="gw")
    for name in ("user", "server"):
        assert SUBMIT_SCOPE in roles[name]["scopes"]
        assert READ_ALL_SCOPE not in roles[name]["scopes"]
        assert "access:services!service=gw" in roles[name]["scopes"]


def test_the_default_scopes_of_the_extended_roles_are_kept():
    roles = roles_by_name()
    assert "self" in roles["user"]["scopes"]
    assert {"users:activity!user", "access:servers!server"} <= set(roles["server"]["scopes"])


def test_admin_users_and_groups_get_read_all():
    admin = roles_by_name(admin_users=["olga", "olga"], admin_groups=["organisers"])["arenahub-admin"]
    assert READ_ALL_SCOPE in admin["scopes"]
    assert (admin["users"], admin["groups"]) == (["olga"], ["organisers"])


def test_each_call_returns_fresh_structures():
    first = hub_roles()
    first["custom_scopes"][SUBMIT_SCOPE]["description"] = "changed"
    first["load_roles"][0]["scopes"].append("admin:users")
    second = hub_roles()
    assert second["custom_scopes"][SUBMIT_SCOPE]["description"] != "changed"
    assert "admin:users" not in second["load_roles"][0]["scopes"]
