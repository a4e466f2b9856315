"""``arenahub audit``: list the gateway's audit trail, filtered by user, kind and time (admins)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Optional

import httpx
import typer
from rich.console import Console
from rich.table import Table

from arenahub.cli.gatewayapi import DEFAULT_GATEWAY_URL, call, gateway_client
from arenahub.core.auditkinds import AUDIT_KINDS

app = typer.Typer(help="The audit trail: submissions, scores, policy decisions, quota refusals, admin actions.",
                  no_args_is_help=True)
out = Console()

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC if no zone) or an age like 30m, 12h, 7d, 2w before ``now``.

    Raises typer.BadParameter naming both accepted forms.
    """
    match = _RELATIVE.match(text.strip())
    if match:
        return now - timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a time like 2026-11-23T08:00 nor an age like 30m, 12h, 7d or 2w."
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def fetch_events(client: httpx.Client, params: dict[str, Any]) -> list[dict[str, Any]]:
    """GET /audit with ``params``; exits with the gateway's own message when it refuses."""
    return list((call(client, "GET", "audit", params=params) or {}).get("events", []))


@app.command("list")
def list_events(
    user: Annotated[Optional[str], typer.Option("--user", "-u", help="Only events by or about this user.")] = None,
    kind: Annotated[Optional[str], typer.Option("--kind", "-k", help=f"One of {', '.join(AUDIT_KINDS)}.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", "-s", help="ISO time or age: 30m, 12h, 7d, 2w.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most events shown, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON lines instead of a table.")] = False,
    gateway_url: Annotated[Optional[str], typer.Option(
        "--gateway-url", envvar="ARENAHUB_GATEWAY_URL", help=f"The gateway's base URL (default {DEFAULT_GATEWAY_URL}).",
    )] = None,
    token: Annotated[Optional[str], typer.Option(
        "--token", envvar="JUPYTERHUB_API_TOKEN", help="An admin's JupyterHub API token (read-all scope).",
    )] = None,
) -> None:
    """List audit events, newest first."""
    if kind is not None and kind not in AUDIT_KINDS:
        raise typer.BadParameter(f"No audit kind {kind!r}. Valid: {', '.join(AUDIT_KINDS)}.", param_hint="--kind")
    params: dict[str, Any] = {"limit": limit}
    if user:
        params["user"] = user
    if kind:
        params["kind"] = kind
    if since:
        params["since"] = parse_since(since, datetime.now(timezone.utc)).isoformat()
    with gateway_client(gateway_url, token) as client:
        events = fetch_events(client, params)
    if as_json:
        for event in events:
            typer.echo(json.dumps(event))
        return
    table = Table(title=f"Audit events ({len(events)})")
    for column in ("id", "time (UTC)", "kind", "actor", "subject", "message"):
        table.add_column(column, overflow="fold")
    for event in events:
        when = datetime.fromtimestamp(event["ts"], timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(event["id"]), when, event["kind"], event["actor"], event["subject"], event["message"])
    out.print(table)
