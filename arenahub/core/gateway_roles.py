"""The JupyterHub scopes and roles the gateway relies on, for the hub config to load (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SUBMIT_SCOPE = "custom:arenahub-jobs:submit"
READ_ALL_SCOPE = "custom:arenahub-jobs:read-all"

CUSTOM_SCOPES: dict[str, dict[str, str]] = {
    SUBMIT_SCOPE: {
        "description": "Submit train and test jobs to the arenahub gateway, and read, stream and cancel your own.",
    },
    READ_ALL_SCOPE: {
        "description": "Read, stream and cancel every user's arenahub jobs, see withheld log lines, "
        "and register datasets (organisers and admins).",
    },
}

# JupyterHub's own defaults for the roles we extend (jupyterhub.roles.get_default_roles).
_DEFAULT_USER_SCOPES = ["self"]
_DEFAULT_SERVER_SCOPES = ["users:activity!user", "access:servers!server"]


def hub_roles(
    *,
    service_name: str = "arenahub-gateway",
    admin_users: Iterable[str] = (),
    admin_groups: Iterable[str] = (),
) -> dict[str, Any]:
    """The ``custom_scopes`` and ``load_roles`` entries hub_config sets for the gateway.

    Every user may submit and read their own jobs (the ``user`` role), and so may the token of
    their notebook server (the ``server`` role), which is what the notebook extension submits
    with. ``admin_users`` and ``admin_groups`` get the ``arenahub-admin`` role: read-all.
    Returns ``{"custom_scopes": {...}, "load_roles": [...]}``; merge the lists into any other
    roles the hub defines (a role name may appear only once).
    """
    access = f"access:services!service={service_name}"
    return {
        "custom_scopes": {name: dict(spec) for name, spec in CUSTOM_SCOPES.items()},
        "load_roles": [
            {
                "name": "user",
                "description": "Standard user privileges, plus submitting arenahub jobs",
                "scopes": [*_DEFAULT_USER_SCOPES, SUBMIT_SCOPE, access],
            },
            {
                "name": "server",
                "description": "A notebook server: post activity, and submit arenahub jobs for its user",
                "scopes": [*_DEFAULT_SERVER_SCOPES, SUBMIT_SCOPE, access],
            },
            {
                "name": "arenahub-admin",
                "description": "Read every user's arenahub jobs and register datasets",
                "scopes": [READ_ALL_SCOPE, SUBMIT_SCOPE, access],
                "users": sorted(set(admin_users)),
                "groups": sorted(set(admin_groups)),
            },
            {
                "name": "arenahub-gateway-service",
                "description": "The gateway lists running notebook servers to charge their GPU time to the ledger",
                "scopes": ["list:users", "read:servers"],
                "services": [service_name],
            },
        ],
    }
