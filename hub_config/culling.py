"""Per-profile idle culling: GPU profiles are culled sooner than the hub-wide timeout.

jupyterhub-idle-culler asks a "cull arbiter" about each server. Ours looks up the profile
the server was started with (from its spawner state, else its user_options) and compares
the idle time with that profile's own timeout. Servers of profiles with an unattended
timeout are also culled once idle that long if the server's own kernel list shows nobody
attached: no browser connected to any kernel and no kernel running code. The culler runs
with ``--timeout`` set to the hub-wide value; ``culler_config.py`` installs the arbiter.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any

from tornado.httpclient import AsyncHTTPClient, HTTPClientError

TIMEOUTS_ENV = "ARENAHUB_CULL_TIMEOUTS"
log = logging.getLogger(__name__)
KernelFetcher = Callable[[Mapping[str, Any]], Awaitable[Sequence[Mapping[str, Any]] | None]]


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


def is_unattended(kernels: Sequence[Mapping[str, Any]]) -> bool:
    """True when no kernel has a browser connected and none is running code.

    ``kernels`` is jupyter-server's ``GET /api/kernels`` answer (``connections``,
    ``execution_state``). A server without kernels is unattended: an open JupyterLab tab keeps
    its idle clock at zero through the API calls it makes, so only a closed or sleeping one
    lets the server idle this long.
    """
    return all(int(k.get("connections") or 0) == 0 and k.get("execution_state") != "busy" for k in kernels)


def make_unattended_arbiter(
    profile_timeouts_s: Mapping[str, int],
    unattended_timeouts_s: Mapping[str, int],
    default_slug: str,
    fetch_kernels: KernelFetcher,
) -> Callable[..., Awaitable[bool]]:
    """Return an async cull arbiter: the per-profile rule, then the unattended rule.

    A server idle past its profile's unattended timeout (``unattended_timeouts_s``, 0 or
    missing: no such rule) is culled when ``fetch_kernels(server)`` shows it unattended. When
    its kernels cannot be read (None) it is left to the per-profile rule: never cull on a guess.
    """
    by_profile = make_profile_arbiter(profile_timeouts_s, default_slug)
    unattended = dict(unattended_timeouts_s)

    async def arbiter(*, inactive: timedelta | None, inactive_limit: int, server: Mapping[str, Any],
                      **_: Any) -> bool:
        if by_profile(inactive=inactive, inactive_limit=inactive_limit, server=server):
            return True
        if inactive is None:
            return False
        limit = unattended.get(server_profile(server, default_slug)) or 0
        if not limit or inactive.total_seconds() < limit:
            return False
        kernels = await fetch_kernels(server)
        return kernels is not None and is_unattended(kernels)

    return arbiter


def make_kernel_fetcher(proxy_url: str, api_token: str, timeout_s: float = 10) -> KernelFetcher:
    """Return ``fetch_kernels(server)``: the server's ``api/kernels`` list through the proxy, None on failure.

    The culler's token needs the ``access:servers`` scope to ask users' servers.
    """

    async def fetch_kernels(server: Mapping[str, Any]) -> Sequence[Mapping[str, Any]] | None:
        url = f"{proxy_url.rstrip('/')}{server.get('url') or ''}api/kernels"
        try:
            reply = await AsyncHTTPClient().fetch(url, headers={"Authorization": f"token {api_token}"},
                                                  request_timeout=timeout_s)
            kernels = json.loads(reply.body)
        except (HTTPClientError, OSError, ValueError) as e:
            log.warning("Could not list the kernels of %s (%s); its unattended timeout is skipped this round", url, e)
            return None
        return kernels if isinstance(kernels, list) else None

    return fetch_kernels
