"""Throughput of ``arenahub logfilter`` per policy against ``cat`` and C-locale ``grep``, plus
detection and false-positive rates on a labelled log.

    .venv/bin/python benchmarks/make_training_log.py /tmp/arenahub-train-500mb.log --mb 500
    .venv/bin/python benchmarks/logfilter_throughput.py /tmp/arenahub-train-500mb.log --runs 3

Every command reads the file on stdin and writes into a pipe (``| cat > /dev/null``: GNU grep
stops early when it writes to /dev/null itself). Each figure is the best of ``--runs`` runs;
the CPU column is the CPU time of the whole pipeline (``cat`` included), which is what decides
the wall time when other work shares the machine. ``arenahub logfilter`` runs the open and
filtered policies in the native core (arenahub_logscan.Filter) and the whitelist policy in
Python with the native scanner; the pure-Python rows and the whitelist policy are timed on the
first ``--python-mb`` MB only (they are far slower). The startup row is the CLI on empty input. The policies are the kinds' defaults with the leak budget and the shown-bytes
cap raised out of reach (``policy_file``): with the defaults a 500 MB log spends its 1 MiB budget
early and every later line is withheld unexamined, which would time the cheap path, not detection.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shlex
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.make_training_log import encoded_lines  # noqa: E402
from tests.unit.logpolicy.trainlogs import STYLES  # noqa: E402

PYTHON = shlex.quote(sys.executable)
ARENAHUB = shlex.quote(str(Path(sys.executable).parent / "arenahub"))
PY_BACKEND = (
    f"{PYTHON} -c 'import sys; from arenahub.logpolicy.cli import logfilter_command; "
    "sys.exit(logfilter_command(sys.argv[1], None, sys.stdin.buffer, sys.stdout.buffer, sys.stderr, backend=\"python\"))'"
)


def timed(command: str, path: Path, runs: int) -> tuple[float, float]:
    """Best wall-clock seconds of ``command < path | cat > /dev/null``, and that run's CPU seconds."""
    best = (float("inf"), 0.0)
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(f"{command} < {shlex.quote(str(path))} 2>/dev/null | cat > /dev/null", shell=True, check=True)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        best = min(best, (wall, cpu))
    return best


def prefix(path: Path, mb: int) -> Path:
    """The first ``mb`` MB of ``path`` cut at a line end, in a sibling file."""
    out = path.with_name(f"{path.stem}-first{mb}mb.log")
    if not out.exists():
        with path.open("rb") as src:
            data = src.read(mb * 1_000_000)
        out.write_bytes(data[: data.rfind(b"\n") + 1])
    return out


def policy_file(kind: str, folder: Path) -> Path:
    """A policy of ``kind`` whose budgets never run out on the benchmark log (accounting stays on)."""
    path = folder / f"bench-{kind}.yaml"
    path.write_text(f"policy: {kind}\nleak_budget_bytes: 1000000000000\nmax_shown_bytes: null\nmetrics: {{max_points_per_job: 1000000000}}\n")
    return path


def labelled_rates(lines: int, seed: int) -> dict[str, dict[str, float]]:
    """Per policy: share of encoded lines not shown verbatim (detection) and of normal lines
    withheld or redacted (false positives), on a log where about 2 % of lines are encoded."""
    from arenahub.logpolicy import LogFilter, Verdict, build_policy

    rng = random.Random(seed)
    pool = [[text for _, text in style(random.Random(i), 2)] for i in range(10) for style in STYLES.values()]
    labelled: list[tuple[bool, str]] = []
    while len(labelled) < lines:
        for text in rng.choice(pool):
            labelled.append((False, text))
            if rng.random() < 0.005:
                labelled.extend((True, line) for line in encoded_lines(rng))
    rates = {}
    for kind in ("open", "filtered", "whitelist"):
        # Budgets and the metric points cap out of reach, as for the throughput rows: these
        # rates are the detectors', not the caps'.
        policy = build_policy({"policy": kind, "leak_budget_bytes": None, "max_shown_bytes": None,
                               "metrics": {"max_points_per_job": 10**9}})
        log_filter = LogFilter(policy, is_replay=True)
        counts: Counter[str] = Counter()
        for is_encoded, text in labelled:
            own = [d for d in log_filter.feed(text, 0.0) if d.action is not Verdict.MARKER][-1]
            is_caught = own.action is Verdict.WITHHOLD or text.split("\r")[-1] not in own.text
            if is_encoded:
                counts["encoded"] += 1
                counts["caught"] += is_caught
            else:
                counts["normal"] += 1
                counts["false_positive"] += own.action is not Verdict.PASS
        rates[kind] = {
            "detection_percent": 100 * counts["caught"] / counts["encoded"],
            "false_positive_percent": 100 * counts["false_positive"] / counts["normal"],
            "encoded_lines": counts["encoded"],
            "normal_lines": counts["normal"],
        }
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--runs", type=int, default=3, help="runs of each full-size row (the best counts)")
    parser.add_argument("--slow-runs", type=int, default=1, help="runs of each row timed on the prefix")
    parser.add_argument("--python-mb", type=int, default=20)
    parser.add_argument("--labelled-lines", type=int, default=200_000)
    args = parser.parse_args()
    size_mb = args.path.stat().st_size / 1e6
    small = prefix(args.path, args.python_mb)
    small_mb = small.stat().st_size / 1e6
    policies = {k: shlex.quote(str(policy_file(k, args.path.parent))) for k in ("open", "filtered", "whitelist")}
    rows = [
        ("cat", "cat", args.path, size_mb),
        ("LC_ALL=C grep -E '[A-Za-z0-9+/]{40,}'", "LC_ALL=C grep -E '[A-Za-z0-9+/]{40,}'", args.path, size_mb),
        ("grep -E (default UTF-8 locale)", "LC_ALL=C.UTF-8 grep -E '[A-Za-z0-9+/]{40,}'", small, small_mb),
        *[(f"arenahub logfilter, {k} (native core)", f"{ARENAHUB} logfilter --policy {policies[k]}", args.path, size_mb)
          for k in ("open", "filtered")],
        ("arenahub logfilter, whitelist (Python, native scanner)", f"{ARENAHUB} logfilter --policy {policies['whitelist']}", small, small_mb),
        *[(f"logfilter, {k}, pure Python", f"{PY_BACKEND} {policies[k]}", small, small_mb)
          for k in ("open", "filtered", "whitelist")],
    ]
    print(f"log: {args.path} ({size_mb:.0f} MB); prefix for slow rows: {small_mb:.0f} MB; cpus: {os.cpu_count()}; "
          f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    startup, _ = timed(f"{ARENAHUB} logfilter --policy {policies['filtered']}", Path("/dev/null"), args.runs)
    print(f"arenahub logfilter startup (empty input): {startup:.2f} s")
    print("| command | input MB | seconds | CPU seconds | MB/s |")
    print("|---|---|---|---|---|")
    for label, command, path, mb in rows:
        seconds, cpu = timed(command, path, args.runs if path == args.path else args.slow_runs)
        print(f"| {label} | {mb:.0f} | {seconds:.2f} | {cpu:.2f} | {mb / seconds:.1f} |", flush=True)
    print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print()
    print("| policy | detection (encoded lines not shown verbatim) | false positives (normal lines withheld or changed) |")
    print("|---|---|---|")
    for kind, r in labelled_rates(args.labelled_lines, 7).items():
        print(f"| {kind} | {r['detection_percent']:.2f} % of {r['encoded_lines']} | "
              f"{r['false_positive_percent']:.3f} % of {r['normal_lines']} |")


if __name__ == "__main__":
    main()
