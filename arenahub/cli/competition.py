"""``arenahub competition``: validate a competition file offline; create, list, close competitions and re-run scored jobs on the gateway."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import httpx
import typer
from rich.console import Console
from rich.table import Table

from arenahub.cli.gatewayapi import DEFAULT_GATEWAY_URL, call, fail, gateway_client

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


def check_file(path: Path) -> Any:
    """The loaded competition file, or None after printing each of its problems with its line number."""
    from arenahub.core.yamlconf import ConfigError
    from arenahub.gateway.competitionfile import load_competition_text

    try:
        return load_competition_text(path.read_text(), str(path))
    except ConfigError as exc:
        for problem in exc.problems:
            err.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
        return None


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Competition YAML files.", exists=True,
                                                          dir_okay=False, readable=True)]) -> None:
    """Check competition files offline: schema, evaluation template and log policy, every problem with its line."""
    failed = False
    for path in files:
        loaded = check_file(path)
        if loaded is None:
            failed = True
            continue
        fields = ", ".join(f.name for f in loaded.template.fields)
        out.print(f"[green]✓[/green] {path} is valid: competition {loaded.spec.id!r}, scored on dataset "
                  f"{loaded.spec.scored_dataset!r}, fields {fields}, aggregate {loaded.template.aggregate.kind}",
                  highlight=False)
    if failed:
        raise typer.Exit(2)


@app.command()
def create(file: File, gateway_url: GatewayUrl = None, token: Token = None) -> None:
    """Create a competition on the gateway from its YAML file (registers datasets that give a path).

    The file is checked here first: a file with problems is not sent, and the command exits 2.
    """
    if check_file(file) is None:
        err.print(f"Nothing was created. Fix {file} and run `arenahub competition validate {file}` to check it.",
                  highlight=False, soft_wrap=True)
        raise typer.Exit(2)
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


FINAL_STATUSES = ("succeeded", "failed", "cancelled", "timeout", "lost")
SCORE_DONE = ("scored", "error", "not-scored")


def wait_for_rerun(client: httpx.Client, job_id: str, timeout_s: float, poll_s: float = 1.0) -> dict[str, Any]:
    """Poll the re-run until it has ended and (for a succeeded test job) been scored; a rich status line shows where it is."""
    deadline = time.monotonic() + timeout_s
    with out.status(f"Re-running as job {job_id}: queued", spinner="dots") as status:
        while True:
            job = call(client, "GET", f"jobs/{job_id}")
            if job["status"] in FINAL_STATUSES:
                score = call(client, "GET", f"jobs/{job_id}/score")
                if job["status"] != "succeeded" or score.get("status") in SCORE_DONE:
                    return job
                status.update(f"Re-running as job {job_id}: {job['status']}, scoring")
            else:
                status.update(f"Re-running as job {job_id}: {job['status']}")
            if time.monotonic() > deadline:
                raise fail(f"Job {job_id} is still {job['status']} after {timeout_s:g} s; it keeps running. "
                           f"Follow it with GET /jobs/{job_id}, and compare later with GET /jobs/<original>/reruns.")
            time.sleep(poll_s)


def print_comparison(comparison: dict[str, Any], rerun_id: str) -> bool:
    """Print the original's and the re-run's hash, status and scores side by side; True when the scores agree."""
    original = comparison["original"]
    again = next(r for r in comparison["reruns"] if r["job_id"] == rerun_id)
    table = Table("", "job", "user", "status", "code sha256", "public score", "private score")
    for label, row in (("original", original), ("re-run", again)):
        table.add_row(label, row["job_id"], row["user"], row["status"], row["code_sha256"][:16],
                      _score(row["public_score"]), _score(row["private_score"]))
    out.print(table)
    same = (original["code_sha256"] == again["code_sha256"]
            and (original["public_score"], original["private_score"]) == (again["public_score"], again["private_score"]))
    return same and original["score_status"] == again["score_status"] == "scored"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


@app.command()
def rerun(job_id: Annotated[str, typer.Argument(help="The scored job to reproduce.")],
          wait: Annotated[bool, typer.Option(help="Wait for the re-run's score and compare it with the original's.")] = True,
          timeout: Annotated[float, typer.Option(min=1, help="Seconds to wait for the re-run's score.")] = 3600,
          gateway_url: GatewayUrl = None, token: Token = None) -> None:
    """Re-run a job's code snapshot with its spec (admins) and print both scores: exit 0 when they agree, 1 when not."""
    with gateway_client(gateway_url, token) as client:
        again = call(client, "POST", f"jobs/{job_id}/rerun")
        out.print(f"Re-running job {job_id} (snapshot {again['code_sha256'][:16]}) as job {again['id']}.",
                  highlight=False)
        if not wait:
            return
        wait_for_rerun(client, again["id"], timeout)
        comparison = call(client, "GET", f"jobs/{job_id}/reruns")
        same = print_comparison(comparison, again["id"])
    if comparison["original"]["score_status"] is None:
        ended = next(r for r in comparison["reruns"] if r["job_id"] == again["id"])["status"]
        out.print(f"Job {job_id} has no score to compare (only test jobs of a competition are scored); "
                  f"the re-run {again['id']} ended {ended}.", highlight=False)
        if ended != "succeeded":
            raise typer.Exit(1)
        return
    if not same:
        raise fail(f"The re-run {again['id']} did not reproduce job {job_id}'s score; see the table above.")
    out.print(f"[green]✓[/green] Job {again['id']} reproduced job {job_id}'s score from the same snapshot.",
              highlight=False)
