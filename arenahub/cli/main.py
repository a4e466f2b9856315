"""The ``arenahub`` command: the one place that wires the parts together."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from arenahub.cli.audit import app as audit_app
from arenahub.cli.competition import app as competition_app
from arenahub.cli.report import app as report_app
from arenahub.logpolicy.cli import app as logfilter_app

app = typer.Typer(
    name="arenahub",
    help="arenahub: GPU notebooks, sandboxed training and scored competitions on JupyterHub.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)
err = Console(stderr=True)
app.add_typer(competition_app, name="competition")
app.add_typer(audit_app, name="audit")
app.add_typer(report_app, name="report")
app.add_typer(logfilter_app)  # arenahub logfilter


@app.command()
def run(
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Site settings YAML (see `check-config`).")] = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="Where the hub keeps its database, secrets and homes.")] = None,
    ip: Annotated[Optional[str], typer.Option(help="Address to listen on (default 127.0.0.1).")] = None,
    port: Annotated[Optional[int], typer.Option(help="Port to listen on (default 8000).")] = None,
    db_url: Annotated[Optional[str], typer.Option(help="Hub database URL, e.g. postgresql://u:p@127.0.0.1/hub (driver: psycopg).")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Seed an admin and a demo user and print how to sign in.")] = False,
) -> None:
    """Start the embedded hub: JupyterHub, its proxy, the idle culler and the job gateway."""
    from .run import run_hub

    raise typer.Exit(run_hub(config=config, data_dir=data_dir, ip=ip, port=port, db_url=db_url, demo=demo))


@app.command("check-config")
def check_config(
    config: Annotated[Path, typer.Argument(help="Site settings YAML to check.", exists=True, dir_okay=False)],
) -> None:
    """Check a site settings file and point at every setting that is wrong."""
    from arenahub.core.yamlconf import ConfigError, validate_yaml
    from arenahub.hub_config.settings import HubSettings

    try:
        validate_yaml(HubSettings, config.read_text(), str(config))
    except ConfigError as e:
        for problem in e.problems:
            err.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    Console().print(f"[green]✓[/green] {config} is valid")


if __name__ == "__main__":
    app()
