"""The pre-spawn quota check: before a GPU notebook starts, the hub asks the gateway whether its user has GPU time left."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from tornado import web

log = logging.getLogger(__name__)


def gpu_fraction_of(spawner: Any) -> float:
    """GPUs the spawner's chosen profile holds (0.25 for a quarter slice); 0 when it has no profiles."""
    choose = getattr(spawner, "chosen_profile", None)
    if choose is None:
        return 0.0
    return float(choose().gpu_fraction)


class SpawnQuotaCheck:
    """A ``Spawner.pre_spawn_hook``: refuses a GPU notebook over budget with the gateway's own message.

    It asks ``GET {gateway_url}/quota/spawn-check?gpu_fraction=...`` with the new server's API
    token (JupyterHub issues it before the hook runs), so the gateway checks that server's user.
    A refusal becomes the same 429 (or 403) with the same message in the spawn page. When the
    gateway does not answer, the spawn is refused with 503 unless ``allow_when_unreachable``.
    """

    def __init__(self, gateway_url: str, *, timeout_s: float = 5.0, allow_when_unreachable: bool = False) -> None:
        self.gateway_url = gateway_url.rstrip("/")
        self.timeout_s = timeout_s
        self.allow_when_unreachable = allow_when_unreachable

    async def __call__(self, spawner: Any) -> None:
        """Return when the spawn may go ahead; raise tornado.web.HTTPError otherwise."""
        fraction = gpu_fraction_of(spawner)
        if fraction <= 0:
            return  # CPU notebooks cost no GPU time
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as client:
                reply = await client.get(
                    f"{self.gateway_url}/quota/spawn-check", params={"gpu_fraction": fraction},
                    headers={"Authorization": f"token {spawner.api_token}"},
                )
        except httpx.HTTPError as exc:
            log.warning("Quota check for %s: gateway %s unreachable: %s", spawner.user.name, self.gateway_url, exc)
            if self.allow_when_unreachable:
                return
            raise web.HTTPError(
                503, "The GPU quota service did not answer, so this GPU notebook was not started. "
                "Try again in a minute, or start a CPU-only notebook.",
            ) from exc
        if reply.status_code == 200:
            return
        try:
            message = str(reply.json().get("message") or reply.text)
        except ValueError:
            message = reply.text
        log.info("Spawn of %s (%.3g GPU) refused by quota: %s", spawner.user.name, fraction, message)
        status = reply.status_code if reply.status_code in (403, 429) else 503
        raise web.HTTPError(status, message, reason="GPU quota")
