"""``arenahub report utilisation``: allocated vs used GPU-hours per profile, user and competition (CSV + PNG)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table
from arenahub.gateway.observability_report import (
    Holding,
    UsageSample,
    UtilisationRow,
    build_utilisation,
    format_csv,
    holdings_from_samples,
    parse_since,
)

app = typer.Typer(help="Reports for admins: GPU utilisation.", no_args_is_help=True)
err = Console(stderr=True)
log = logging.getLogger(__name__)


def load_samples(samples_dir: Path, since: float) -> list[UsageSample]:
    """Sampler records at or after ``since`` from ``<state_dir>/gpu-samples/*.jsonl`` (damaged lines skipped)."""
    samples: list[UsageSample] = []
    fields = set(UsageSample.__dataclass_fields__)
    for path in sorted(samples_dir.glob("*.jsonl")) if samples_dir.is_dir() else []:
        for line in path.read_text(errors="replace").splitlines():
            try:
                raw = json.loads(line)
                if raw["t"] >= since:
                    samples.append(UsageSample(**{k: v for k, v in raw.items() if k in fields}))
            except (ValueError, KeyError, TypeError):
                continue
    return samples


def load_holdings(db_url: str, since: float, until: float, *, notebooks_from_ledger: bool) -> list[Holding]:
    """Jobs' GPU holdings from the gateway database, and notebooks' from its ledger when asked."""
    from sqlalchemy.exc import SQLAlchemyError  # here, not at the top: every `arenahub` command imports this module

    from arenahub.gateway.db import Database
    from arenahub.gateway.observability_store import load_jobs_overlapping, load_ledger_rows

    db = Database.from_url(db_url)
    try:
        jobs = db.run_sync(load_jobs_overlapping, since, until)
        holdings = [Holding("job", j.id, j.user, str(j.spec.get("competition") or ""), f"job-{len(j.gpus or ())}gpu",
                            float(len(j.gpus or ())), float(j.started_at or since), float(j.finished_at or until))
                    for j in jobs]
        if notebooks_from_ledger:
            try:
                rows = db.run_sync(load_ledger_rows, since, until, "notebook")
            except SQLAlchemyError as exc:  # a gateway database from before the ledger existed
                log.warning("No GPU ledger in %s (%s); notebooks are left out", db_url, exc)
                rows = []
            holdings += [Holding("notebook", r.source_id, r.user, r.competition, f"notebook-{r.gpu_fraction:g}gpu",
                                 r.gpu_fraction, r.start_at, r.end_at) for r in rows]
        return holdings
    finally:
        db.dispose()


def save_plot(rows: list[UtilisationRow], path: Path) -> None:
    """A bar chart per dimension: allocated vs used GPU-hours (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dims = [d for d in ("profile", "user", "competition") if any(r.dimension == d for r in rows)] or ["profile"]
    fig, axes = plt.subplots(len(dims), 1, figsize=(9, 3.2 * len(dims)), squeeze=False)
    for ax, dim in zip(axes[:, 0], dims):
        mine = [r for r in rows if r.dimension == dim][:15]
        xs = range(len(mine))
        ax.bar([x - 0.2 for x in xs], [r.allocated_gpu_h for r in mine], width=0.4, label="allocated")
        ax.bar([x + 0.2 for x in xs], [r.used_gpu_h for r in mine], width=0.4, label="used (sampled)")
        ax.set_xticks(list(xs), [r.key for r in mine], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("GPU-hours")
        ax.set_title(f"GPU-hours per {dim}")
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@app.command("utilisation")
def utilisation(
    since: Annotated[str, typer.Option(help="How far back: 7d, 36h, 90m ...")] = "7d",
    config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Site settings YAML of the hub, "
                                                   "to find the gateway's folder and database.")] = None,
    gateway_dir: Annotated[Optional[Path], typer.Option(help="The gateway's state folder (overrides --config).")] = None,
    db_url: Annotated[Optional[str], typer.Option(help="The gateway's database URL (default: SQLite in the "
                                                  "gateway's folder).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for utilisation.csv and utilisation.png.")] = Path("."),
) -> None:
    """Allocated vs used GPU-hours per profile, user and competition; prints a table, writes CSV and PNG."""
    try:
        span_s = parse_since(since)
    except ValueError as exc:
        err.print(f"[red]✗[/red] --since: {exc}", soft_wrap=True)
        raise typer.Exit(2) from None
    if gateway_dir is None:
        from arenahub.hub_config.settings import load_settings

        gateway_dir = load_settings(config).gateway_dir if config else None
    if gateway_dir is None:
        err.print("[red]✗[/red] Say where the gateway keeps its data: --gateway-dir DIR or --config SITE.yaml.")
        raise typer.Exit(2)
    until = time.time()
    start = until - span_s
    samples = load_samples(gateway_dir / "gpu-samples", start)
    url = db_url or f"sqlite:///{gateway_dir / 'gateway.sqlite'}"
    notebook_samples = [s for s in samples if s.kind == "notebook"]
    holdings = load_holdings(url, start, until, notebooks_from_ledger=not notebook_samples)
    holdings += holdings_from_samples(notebook_samples)
    rows = build_utilisation(holdings, samples, start, until)
    out.mkdir(parents=True, exist_ok=True)
    (out / "utilisation.csv").write_text(format_csv(rows))
    save_plot(rows, out / "utilisation.png")
    table = Table(title=f"GPU-hours, last {since}")
    for column in ("per", "key", "allocated", "used", "utilisation"):
        table.add_column(column, justify="right" if column in ("allocated", "used", "utilisation") else "left")
    for r in rows:
        util = "n/a (no samples)" if r.utilisation is None else f"{r.utilisation:.0%}"
        table.add_row(r.dimension, r.key, f"{r.allocated_gpu_h:.1f}", f"{r.used_gpu_h:.1f}", util)
    Console().print(table)
    if not samples:
        err.print("No GPU samples in this period (no GPU, or the sampler was off): 'used' is unknown.")
    Console().print(f"Wrote {out / 'utilisation.csv'} and {out / 'utilisation.png'}")
