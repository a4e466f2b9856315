"""The notebook server's HTTP client for the job gateway, authenticated with the server's own hub token.

Every failure becomes an ArenaError whose message can be shown to the participant unchanged:
the gateway's own ``{"error", "message"}`` replies keep their status, reason and message; a
gateway that cannot be reached becomes ``gateway-unreachable`` (503).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from arenahub.core.errors import ArenaError, ServiceUnavailable

log = logging.getLogger(__name__)

GATEWAY_URL_ENV = "ARENAHUB_GATEWAY_URL"


class GatewayRefused(ArenaError):
    """The gateway answered with an error; ``status``, ``reason`` and ``message`` are the gateway's."""

    def __init__(self, status: int, message: str, *, reason: str) -> None:
        super().__init__(message, reason=reason)
        self.status = status


def gateway_unreachable(url: str, why: str) -> ServiceUnavailable:
    """The error for a gateway that did not answer (connection refused, timeout, proxy error page)."""
    return ServiceUnavailable(
        f"The job gateway is not reachable ({why}), so nothing was sent. It may be restarting; "
        "the panel retries by itself, or try again in a minute. If it lasts, tell the organisers.",
        reason="gateway-unreachable",
        log_detail=f"gateway {url}: {why}",
    )


def gateway_not_configured() -> ServiceUnavailable:
    """The error for a notebook server started without ARENAHUB_GATEWAY_URL."""
    return ServiceUnavailable(
        f"This notebook server does not know where the job gateway is: {GATEWAY_URL_ENV} is not set. "
        "Restart your server from the hub; if that does not help, tell the operator.",
        reason="gateway-not-configured",
    )


def _refusal(reply: httpx.Response, url: str) -> ArenaError:
    try:
        body = reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return GatewayRefused(reply.status_code, body["message"], reason=str(body.get("error") or "gateway-error"))
    if reply.status_code in (502, 503, 504):
        # The hub's proxy answers with an HTML page when the gateway service is down.
        return gateway_unreachable(url, f"the hub answered {reply.status_code}: the gateway service is not running")
    return GatewayRefused(
        reply.status_code,
        f"The job gateway answered {reply.status_code} without an explanation; try again, and tell the "
        "organisers if it keeps happening.",
        reason="gateway-error",
    )


class GatewayClient:
    """Calls the gateway's REST API (``/jobs``, ``/datasets`` ...) below ``base_url``."""

    def __init__(self, base_url: str, token: str, *, timeout_s: float = 30.0, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._timeout = httpx.Timeout(timeout_s, connect=5.0)
        self._http = http or httpx.AsyncClient(timeout=self._timeout)

    @property
    def is_configured(self) -> bool:
        """True when a gateway URL and a token are known."""
        return bool(self.base_url and self._token)

    def _url(self, path: str) -> str:
        if not self.is_configured:
            raise gateway_not_configured()
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = self._url(path)
        try:
            reply = await self._http.request(method, url, headers=self._headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise gateway_unreachable(url, "it did not answer in time") from exc
        except httpx.TransportError as exc:
            raise gateway_unreachable(url, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
        if reply.status_code >= 400:
            raise _refusal(reply, url)
        return reply

    async def fetch_json(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET ``path`` and return its JSON body; raises ArenaError (see module docstring)."""
        reply = await self._request("GET", path, params={k: v for k, v in (params or {}).items() if v is not None})
        return reply.json()

    async def fetch_optional_json(self, path: str, params: dict[str, Any] | None = None) -> Any | None:
        """Like fetch_json, but None when the gateway answers 404: no such endpoint, or nothing there yet
        (e.g. no competition for a leaderboard)."""
        try:
            return await self.fetch_json(path, params)
        except GatewayRefused as exc:
            if exc.status == 404:
                return None
            raise

    async def post_json(self, path: str) -> Any:
        """POST to ``path`` without a body (e.g. cancel) and return the JSON reply."""
        return (await self._request("POST", path)).json()

    async def submit_job(self, archive: bytes, spec: dict[str, Any]) -> dict[str, Any]:
        """POST /jobs with the code archive and spec; returns the queued job."""
        files = {"code": ("job.tar.gz", archive, "application/gzip")}
        reply = await self._request("POST", "jobs", files=files, data={"spec": json.dumps(spec)})
        job: dict[str, Any] = reply.json()
        return job

    @asynccontextmanager
    async def open_log_stream(self, job_id: str, last_event_id: str | None) -> AsyncIterator[httpx.Response]:
        """The gateway's SSE log stream of ``job_id`` (status checked), resumed after ``last_event_id``."""
        url = self._url(f"jobs/{job_id}/logs")
        headers = {**self._headers, "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        # No read timeout beyond a minute: the gateway pings every 15 s while a job is quiet.
        timeout = httpx.Timeout(60.0, connect=5.0)
        try:
            async with self._http.stream("GET", url, headers=headers, timeout=timeout) as reply:
                if reply.status_code >= 400:
                    await reply.aread()
                    raise _refusal(reply, url)
                yield reply
        except httpx.TimeoutException as exc:
            raise gateway_unreachable(url, "it did not answer in time") from exc
        except httpx.TransportError as exc:
            raise gateway_unreachable(url, type(exc).__name__) from exc

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()
