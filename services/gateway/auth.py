"""Who is calling: JupyterHub API tokens checked against the hub's ``GET /user``, cached briefly."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from arenahub.core.errors import NotAuthenticated, ServiceUnavailable
from arenahub.core.gateway_roles import READ_ALL_SCOPE, SUBMIT_SCOPE

log = logging.getLogger(__name__)

_MAX_CACHED_TOKENS = 10_000


@dataclass(frozen=True)
class Principal:
    """A hub user acting through a token, with the token's scopes."""

    name: str
    scopes: frozenset[str]

    @property
    def can_read_all(self) -> bool:
        """True for organisers and admins (unfiltered read-all scope)."""
        return READ_ALL_SCOPE in self.scopes

    @property
    def can_submit(self) -> bool:
        """True when the token may submit jobs (and read its user's own)."""
        return SUBMIT_SCOPE in self.scopes or f"{SUBMIT_SCOPE}!user={self.name}" in self.scopes

    def may_see(self, owner: str) -> bool:
        """True when this caller may read and cancel a job of ``owner``."""
        return self.can_read_all or (owner == self.name and self.can_submit)


def token_from_header(authorization: str | None) -> str | None:
    """The token in an ``Authorization: token X`` or ``Authorization: Bearer X`` header, else None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() in ("token", "bearer") and value:
        return value
    return None


class HubAuth:
    """Asks the hub who owns a token (``GET {api_url}/user``), like jupyterhub.services.auth.HubAuth.

    Answers are cached for ``cache_s`` seconds under the token's SHA-256, so a stream of
    requests costs the hub one call per token and period. ``clock`` returns monotonic seconds.
    """

    def __init__(
        self,
        api_url: str,
        *,
        cache_s: float,
        client: httpx.AsyncClient,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.cache_s = cache_s
        self.client = client
        self.clock = clock
        self._cache: dict[str, tuple[float, Principal]] = {}

    async def fetch_principal(self, token: str) -> Principal:
        """The token's owner and scopes.

        Raises NotAuthenticated when the hub does not accept the token and ServiceUnavailable
        when the hub cannot be reached.
        """
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self.clock()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        principal = await self._ask_hub(token)
        if self.cache_s > 0:
            if len(self._cache) >= _MAX_CACHED_TOKENS:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            if len(self._cache) < _MAX_CACHED_TOKENS:
                self._cache[key] = (now + self.cache_s, principal)
        return principal

    async def _ask_hub(self, token: str) -> Principal:
        try:
            reply = await self.client.get(f"{self.api_url}/user", headers={"Authorization": f"token {token}"})
        except httpx.HTTPError as exc:
            log.warning("Hub API %s unreachable while checking a token: %s", self.api_url, exc)
            raise ServiceUnavailable(
                "The gateway cannot reach JupyterHub to check your token; try again in a minute.",
                reason="hub-unreachable",
                log_detail=str(exc),
            ) from exc
        if reply.status_code in (401, 403, 404):
            raise NotAuthenticated(
                "The hub does not accept this token (expired, revoked or mistyped). "
                "Send a valid hub API token as 'Authorization: token <token>'.",
                reason="token-invalid",
            )
        if reply.status_code != 200:
            log.warning("Hub API answered %s to GET /user: %s", reply.status_code, reply.text[:500])
            raise ServiceUnavailable(
                f"JupyterHub answered {reply.status_code} while the gateway checked your token; try again.",
                reason="hub-error",
            )
        model = reply.json()
        if model.get("kind", "user") != "user" or not model.get("name"):
            raise NotAuthenticated(
                "This token belongs to a service, not a user; jobs are submitted with a user's token.",
                reason="token-not-user",
            )
        return Principal(name=str(model["name"]), scopes=frozenset(model.get("scopes") or ()))
