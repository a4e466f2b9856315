"""The panel's HTTP client: the kernel calls its own notebook server's ``/arenahub/`` API (never the gateway).

Inside JupyterHub the server's URL and token come from the kernel's environment
(``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_API_TOKEN``); elsewhere pass them, or the first
running Jupyter server is used.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx


class PanelError(Exception):
    """A request failed; ``message`` is meant for the participant, ``reason`` is a stable code."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


@dataclass(frozen=True)
class ServerLocation:
    """Where the notebook server answers, and the token to show it."""

    url: str
    token: str


def find_server(url: str | None = None, token: str | None = None) -> ServerLocation:
    """The notebook server this kernel belongs to; raises PanelError when none can be found."""
    url = url or os.environ.get("JUPYTERHUB_SERVICE_URL")
    token = token if token is not None else os.environ.get("JUPYTERHUB_API_TOKEN")
    if url and token is not None:
        return ServerLocation(url.rstrip("/") + "/", token)
    from jupyter_server.serverapp import list_running_servers

    for info in list_running_servers():
        return ServerLocation(str(info["url"]).rstrip("/") + "/", token or str(info.get("token", "")))
    raise PanelError(
        0, "server-unknown",
        "Cannot find this notebook's server: JUPYTERHUB_SERVICE_URL is not set and no Jupyter server is "
        "running. Pass Workbench(server_url=..., token=...).",
    )


def _error_from(reply: httpx.Response) -> PanelError:
    try:
        body = reply.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return PanelError(reply.status_code, str(body.get("error") or "error"), body["message"])
    return PanelError(
        reply.status_code, "server-error",
        f"Your notebook server answered {reply.status_code}. If this persists, restart it from the hub.",
    )


class PanelClient:
    """Synchronous calls to ``<server>/arenahub/...``; every failure is a PanelError."""

    def __init__(self, location: ServerLocation, *, timeout_s: float = 60.0) -> None:
        self.location = location
        headers = {"Authorization": f"token {location.token}"} if location.token else {}
        self._http = httpx.Client(base_url=location.url + "arenahub/", headers=headers,
                                  timeout=httpx.Timeout(timeout_s, connect=5.0))

    def _closed_error(self) -> PanelError:
        return PanelError(0, "panel-closed", "This panel was closed; run Workbench() again to open a new one.")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        if self._http.is_closed:
            raise self._closed_error()
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise PanelError(0, "server-unreachable",
                             f"Your notebook server did not answer ({type(exc).__name__}); is it shutting down?") from exc
        except RuntimeError as exc:  # httpx refuses requests on a client closed meanwhile by close()
            if self._http.is_closed:
                raise self._closed_error() from exc
            raise
        if reply.status_code >= 400:
            raise _error_from(reply)
        return reply.json()

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (relative to /arenahub/); background polls do not count as user activity."""
        params = {k: v for k, v in params.items() if v is not None}
        return self._call("GET", path, params={**params, "no_track_activity": "1"})

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        """POST JSON to ``path``."""
        return self._call("POST", path, json=body or {})

    def stream_log_events(self, job_id: str, last_event_id: str | None,
                          should_stop: Callable[[], bool]) -> Iterator[tuple[str, str, str | None]]:
        """Server-sent events of the job's log as (event, data, id); ends when the stream ends.

        Raises PanelError when the stream cannot be opened or breaks.
        """
        if self._http.is_closed:
            raise self._closed_error()
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        try:
            with self._http.stream("GET", f"jobs/{job_id}/logs", headers=headers,
                                   params={"no_track_activity": "1"},
                                   timeout=httpx.Timeout(90.0, connect=5.0)) as reply:
                if reply.status_code >= 400:
                    reply.read()
                    raise _error_from(reply)
                event, data, event_id = "message", [], None
                for raw in reply.iter_lines():
                    if should_stop():
                        return
                    if raw == "":
                        if data:
                            yield event, "\n".join(data), event_id
                        event, data, event_id = "message", [], None
                    elif raw.startswith(":"):
                        continue  # a ping
                    else:
                        name, _, value = raw.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if name == "data":
                            data.append(value)
                        elif name == "event":
                            event = value
                        elif name == "id":
                            event_id = value
        except httpx.HTTPError as exc:
            if self._http.is_closed:
                raise self._closed_error() from exc
            raise PanelError(0, "stream-broken", f"The log stream broke ({type(exc).__name__}); reconnecting.") from exc
        except RuntimeError as exc:
            if self._http.is_closed:
                raise self._closed_error() from exc
            raise

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
