"""The CLI's admin client for the job gateway: one place for its URL, token and error messages."""

from __future__ import annotations

from typing import Any

import httpx
import typer
from rich.console import Console

err = Console(stderr=True)

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8000/services/arenahub-gateway/"


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``message`` as an error; returns the Exit to raise."""
    err.print(f"[red]✗[/red] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def gateway_client(gateway_url: str | None, token: str | None) -> httpx.Client:
    """An HTTP client for the gateway with an admin's token; exits saying how to give one if missing."""
    if not token:
        raise fail("No admin token: pass --token or set JUPYTERHUB_API_TOKEN to an admin's JupyterHub API token.")
    base = (gateway_url or DEFAULT_GATEWAY_URL).rstrip("/") + "/"
    return httpx.Client(base_url=base, headers={"Authorization": f"token {token}"}, timeout=60)


def call(client: httpx.Client, method: str, path: str, **kwargs: Any) -> Any:
    """The JSON reply, or exit with the gateway's message (its error shape) or the connection problem."""
    try:
        reply = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise fail(f"Cannot reach the gateway at {client.base_url} ({exc}). Is the hub running? "
                   "Set --gateway-url or ARENAHUB_GATEWAY_URL.") from None
    try:
        body = reply.json()
    except ValueError:
        body = None
    if reply.is_error:
        message = body.get("message") if isinstance(body, dict) else None
        raise fail(f"The gateway refused ({reply.status_code}): {message or reply.text[:500]}")
    return body
