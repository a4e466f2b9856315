"""``arenahub competition``: validate a competition file offline; create, list and close competitions on the gateway."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from arenahub.cli.gatewayapi import DEFAULT_GATEWAY_URL, call, gateway_client

app = typer.Typer(help="Competitions: one YAML file each; validate offline, create, list and close on the gateway.",
                  no_args_is_help=True)
out = Console()
err = Console(stderr=True)


GatewayUrl = Annotated[Optional[str], typer.Option(
    "--gateway-url", envvar="ARENAHUB_GATEWAY_URL",
    help=f"The job gateway's base URL (default {DEFAULT_GATEWAY_URL}).")]
Token = Annotated[Optional[str], typer.Option(
    "--token", envvar="JUPYTERHUB_API_TOKEN",
    help="An admin's JupyterHub API token (with the gateway's read-all scope).")]
File = Annotated[Path, typer.Argument(help="Competition YAML file.", exists=True, dir_okay=False, readable=True)]


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Competition YAML files.", exists=True,
                                                          dir_okay=False, readable=True)]) -> None:
    """Check competition files offline: schema, evaluation template and log policy, every problem with its line."""
    from arenahub.core.yamlconf import ConfigError
    from arenahub.gateway.competitionfile import load_competition_text

    failed = False
    for path in files:
        try:
            loaded = load_competition_text(path.read_text(), str(path))
        except ConfigError as exc:
            failed = True
            for problem in exc.problems:
                err.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
            continue
        fields = ", ".join(f.name for f in loaded.template.fields)
        out.print(f"[green]✓[/green] {path} is valid: competition {loaded.spec.id!r}, scored on dataset "
                  f"{loaded.spec.scored_dataset!r}, fields {fields}, aggregate {loaded.template.aggregate.kind}",
                  highlight=False)
    if failed:
        raise typer.Exit(2)


@app.command()
def create(file: File, gateway_url: GatewayUrl = None, token: Token = None) -> None:
    """Create a competition on the gateway from its YAML file (registers datasets that give a path)."""
    with gateway_client(gateway_url, token) as client:
        made = call(client, "POST", "competitions", json={"source": file.read_text(), "filename": file.name})
    out.print(f"[green]✓[/green] Created competition {made['id']!r} ({made['title']}), state {made['state']}, "
              f"scored on dataset {made['dataset']!r}.", highlight=False)


@app.command("list")
def list_competitions(gateway_url: GatewayUrl = None, token: Token = None) -> None:
    """List the gateway's competitions with their windows and states."""
    with gateway_client(gateway_url, token) as client:
        found = call(client, "GET", "competitions")["competitions"]
    if not found:
        out.print("No competitions yet. Create one with `arenahub competition create FILE`.")
        return
    table = Table("id", "title", "state", "dataset", "opens", "closes")
    for c in found:
        table.add_row(c["id"], c["title"], c["state"], c["dataset"], c["opens_at"] or "-", c["closes_at"] or "-")
    out.print(table)


@app.command()
def close(competition_id: Annotated[str, typer.Argument(help="Competition id.")],
          gateway_url: GatewayUrl = None, token: Token = None) -> None:
    """Close a competition now: no more leaderboard submissions, private scores revealed."""
    with gateway_client(gateway_url, token) as client:
        closed = call(client, "POST", f"competitions/{competition_id}/close")
    out.print(f"[green]✓[/green] Closed competition {closed['id']!r}; its private leaderboard is revealed.",
              highlight=False)
