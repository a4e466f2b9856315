"""Per-profile idle culling: GPU profiles are culled sooner than the hub-wide timeout.

jupyterhub-idle-culler asks a "cull arbiter" about each server. Ours looks up the profile
the server was started with (from its spawner state, else its user_options) and compares
the idle time with that profile's own timeout. The culler runs with ``--timeout`` set to the
hub-wide value; ``culler_config.py`` installs the arbiter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

TIMEOUTS_ENV = "ARENAHUB_CULL_TIMEOUTS"


def server_profile(server: Mapping[str, Any], default_slug: str) -> str:
    """The profile slug a server was started with, as the hub API reports it."""
    state = server.get("state") or {}
    options = server.get("user_options") or {}
    return state.get("profile") or options.get("profile") or default_slug


def make_profile_arbiter(
    profile_timeouts_s: Mapping[str, int], default_slug: str
) -> Callable[..., bool]:
    """Return a cull arbiter: True when ``server`` has been idle past its profile's timeout.

    Profiles missing from ``profile_timeouts_s`` (or mapped to 0) use the culler's
    ``inactive_limit``.
    """
    timeouts = dict(profile_timeouts_s)

    def arbiter(*, inactive: timedelta | None, inactive_limit: int, server: Mapping[str, Any], **_: Any) -> bool:
        if inactive is None:
            return False
        limit = timeouts.get(server_profile(server, default_slug)) or inactive_limit
        return inactive.total_seconds() >= limit

    return arbiter
