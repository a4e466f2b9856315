"""``arenahub logfilter``: run a log policy over a recorded log, shown lines out, summary on stderr.

Until the ``arenahub`` command mounts it, run it as
``python -m arenahub.logpolicy.cli --policy POLICY.yaml [--job-budget N] < raw.log > shown.log``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Annotated, Optional

import typer

from arenahub.logpolicy.filter import LogFilter
from arenahub.logpolicy.loading import load_policy
from arenahub.logpolicy.policy import PolicyError

CHUNK_BYTES = 4 * 1024 * 1024

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


def logfilter_command(
    policy: Path,
    job_budget: int | None,
    stdin: IO[bytes],
    stdout: IO[bytes],
    stderr: IO[str],
    *,
    withheld: IO[str] | None = None,
    is_live: bool = False,
    backend: str = "auto",
) -> int:
    """Filter ``stdin`` to ``stdout`` under the policy file; returns the exit status.

    Writes the JSON summary (lines_in, lines_passed, lines_redacted, lines_withheld,
    bytes_passed, reasons, ...) as one line to ``stderr``. ``withheld`` receives one JSON
    line per withheld or redacted input line (what the audit store would keep). ``is_live``
    applies the per-second caps against the wall clock, for a log piped in as it is written;
    a recorded file has no timing, so by default they are off.
    """
    try:
        rules = load_policy(policy)
    except PolicyError as exc:
        for problem in exc.problems:
            stderr.write(f"error: {problem}\n")
        return 2
    if job_budget is not None and job_budget < 0:
        stderr.write("error: --job-budget must be 0 or more bytes.\n")
        return 2
    log_filter = LogFilter(rules, job_budget, is_replay=not is_live, backend=backend)  # type: ignore[arg-type]
    carry = b""
    while True:
        chunk = stdin.read(CHUNK_BYTES)
        if not chunk:
            break
        cut = chunk.rfind(b"\n")
        if cut < 0:
            carry += chunk
            continue
        data, carry = carry + chunk[: cut + 1], chunk[cut + 1:]
        _write(log_filter, data, stdout, withheld, is_live)
    if carry:
        _write(log_filter, carry, stdout, withheld, is_live)
    now = time.monotonic() if is_live else 0.0
    stdout.write(b"".join(d.text.encode() + b"\n" for d in log_filter.flush(now)))
    stdout.flush()
    stderr.write(json.dumps(log_filter.summary()) + "\n")
    return 0


def _write(log_filter: LogFilter, data: bytes, stdout: IO[bytes], withheld: IO[str] | None, is_live: bool) -> None:
    result = log_filter.feed_bytes(data, time.monotonic() if is_live else 0.0)
    stdout.write(result.shown)
    if withheld is not None:
        for d in result.audit:
            record = {"line": d.line_no, "action": d.action.value, "reason": d.reason, "text": d.text}
            if d.original is not None:
                record["original"] = d.original
            withheld.write(json.dumps(record, ensure_ascii=False) + "\n")


@app.command("logfilter")
def logfilter(
    policy: Annotated[Path, typer.Option("--policy", help="Log policy YAML (see docs/log-policy.md).", exists=True, dir_okay=False)],
    job_budget: Annotated[Optional[int], typer.Option("--job-budget", help="Leak budget in bytes for this run, instead of the policy's.")] = None,
    withheld: Annotated[Optional[Path], typer.Option("--withheld", help="Write withheld and redacted lines here as JSON lines.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Apply the per-second caps with the wall clock (input piped from a running job).")] = False,
) -> None:
    """Filter a log from stdin through a log policy: shown lines to stdout, a JSON summary to stderr."""
    if withheld is None:
        code = logfilter_command(policy, job_budget, sys.stdin.buffer, sys.stdout.buffer, sys.stderr, is_live=live)
    else:
        with withheld.open("w", encoding="utf-8") as audit:
            code = logfilter_command(policy, job_budget, sys.stdin.buffer, sys.stdout.buffer, sys.stderr, withheld=audit, is_live=live)
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
