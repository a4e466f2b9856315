"""``arenahub logfilter``: run a log policy over a recorded log, shown lines out, summary on stderr.

    arenahub logfilter --policy POLICY.yaml|open|filtered|whitelist [--job-budget N] [--explain] < raw.log > shown.log
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Annotated, Optional

import typer

from arenahub.logpolicy.decision import Decision
from arenahub.logpolicy.filter import ChunkResult, LogFilter
from arenahub.logpolicy.loading import load_policy
from arenahub.logpolicy.policy import POLICY_KINDS, Policy, PolicyError, default_policy

CHUNK_BYTES = 4 * 1024 * 1024  # read and write in large binary blocks

app = typer.Typer(add_completion=False, pretty_exceptions_show_locals=False)


def resolve_policy(name_or_path: str) -> Policy:
    """The policy in the YAML file ``name_or_path``, or the named kind with its defaults when
    no such file exists and the name is open, filtered or whitelist; raises PolicyError."""
    path = Path(name_or_path)
    if path.is_file():
        return load_policy(path)
    if name_or_path in POLICY_KINDS:
        return default_policy(name_or_path)
    raise PolicyError(name_or_path, [
        f"{name_or_path}: no such policy file, and not a policy name. Give a YAML file "
        f"(see docs/log-policy.md) or one of: {', '.join(POLICY_KINDS)}"
    ])


def logfilter_command(
    policy: str | Path,
    job_budget: int | None,
    stdin: IO[bytes],
    stdout: IO[bytes],
    stderr: IO[str],
    *,
    withheld: IO[str] | None = None,
    is_live: bool = False,
    is_explained: bool = False,
    backend: str = "auto",
) -> int:
    """Filter ``stdin`` to ``stdout`` under the policy file; returns the exit status.

    Writes the JSON summary (lines_in, lines_passed, lines_redacted, lines_withheld,
    bytes_passed, reasons, ...) as one line to ``stderr``. ``withheld`` receives one JSON
    line per withheld or redacted input line (what the audit store would keep). ``is_live``
    applies the per-second caps against the wall clock, for a log piped in as it is written;
    a recorded file has no timing, so by default they are off. ``is_explained`` writes one
    line per decision instead of the shown log: input line number, action, reason and text
    (for withheld lines the original, since the organiser reads their own log here).
    """
    try:
        rules = resolve_policy(str(policy))
    except PolicyError as exc:
        for problem in exc.problems:
            stderr.write(f"error: {problem}\n")
        return 2
    if job_budget is not None and job_budget < 0:
        stderr.write("error: --job-budget must be 0 or more bytes.\n")
        return 2
    log_filter = LogFilter(rules, job_budget, is_replay=not is_live, backend=backend)  # type: ignore[arg-type]
    if is_explained:
        _explain(log_filter, stdin, stdout, is_live)
        stderr.write(json.dumps(log_filter.summary()) + "\n")
        return 0
    is_audited = withheld is not None
    while chunk := stdin.read(CHUNK_BYTES):
        _write(log_filter.feed_stream(chunk, _now(is_live), is_audited=is_audited, write=stdout.write), stdout, withheld)
    _write(log_filter.end_stream(_now(is_live), is_audited=is_audited, write=stdout.write), stdout, withheld)
    stdout.write(b"".join(d.text.encode() + b"\n" for d in log_filter.flush(_now(is_live))))
    stdout.flush()
    stderr.write(json.dumps(log_filter.summary()) + "\n")
    return 0


def _explain(log_filter: LogFilter, stdin: IO[bytes], stdout: IO[bytes], is_live: bool) -> None:
    for raw in stdin:
        decisions = log_filter.feed(raw.decode("utf-8", "surrogateescape"), time.monotonic() if is_live else 0.0)
        stdout.write(b"".join(_explained(d) for d in decisions))
    stdout.write(b"".join(_explained(d) for d in log_filter.flush(time.monotonic() if is_live else 0.0)))
    stdout.flush()


def _explained(d: Decision) -> bytes:
    line_no = "" if d.line_no is None else str(d.line_no)
    return f"{line_no:>7} {d.action.value:<8} {d.reason or '-':<20} {d.text}\n".encode("utf-8", "replace")


def _now(is_live: bool) -> float:
    return time.monotonic() if is_live else 0.0


def _write(result: ChunkResult, stdout: IO[bytes], withheld: IO[str] | None) -> None:
    stdout.write(result.shown)
    if withheld is not None:
        for d in result.audit:
            record = {"line": d.line_no, "action": d.action.value, "reason": d.reason, "text": d.text}
            if d.original is not None:
                record["original"] = d.original
            withheld.write(json.dumps(record, ensure_ascii=False) + "\n")


@app.command("logfilter")
def logfilter(
    policy: Annotated[str, typer.Option("--policy", help="Log policy YAML file (see docs/log-policy.md), or open, filtered or whitelist for that kind's defaults.")],
    job_budget: Annotated[Optional[int], typer.Option("--job-budget", help="Leak budget in bytes for this run, instead of the policy's.")] = None,
    withheld: Annotated[Optional[Path], typer.Option("--withheld", help="Write withheld and redacted lines here as JSON lines.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Apply the per-second caps with the wall clock (input piped from a running job).")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Print every line's verdict (line, action, reason, text) instead of the shown log.")] = False,
) -> None:
    """Filter a log from stdin through a log policy: shown lines to stdout, a JSON summary to stderr."""
    if withheld is None:
        code = logfilter_command(policy, job_budget, sys.stdin.buffer, sys.stdout.buffer, sys.stderr, is_live=live, is_explained=explain)
    else:
        with withheld.open("w", encoding="utf-8") as audit:
            code = logfilter_command(policy, job_budget, sys.stdin.buffer, sys.stdout.buffer, sys.stderr, withheld=audit, is_live=live, is_explained=explain)
    raise typer.Exit(code)


if __name__ == "__main__":
    app()
