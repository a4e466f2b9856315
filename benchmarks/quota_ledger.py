"""GPU ledger benchmark: charge throughput and quota-decision latency with 1M entries, indexed vs a naive re-sum.

Two layers: the pure in-memory GpuLedger (arenahub.quota) and the gateway's SQLite query
(arenahub.gateway.quotastore.load_gpu_seconds over the gpu_ledger table and its index).
Run: .venv/bin/python benchmarks/quota_ledger.py [--entries 1000000] [--users 100]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from arenahub.gateway.db import make_engine, run_migrations
from arenahub.gateway.quotamodels import LedgerRow
from arenahub.gateway.quotastore import load_gpu_seconds
from arenahub.quota import GpuLedger, LedgerEntry, resum_gpu_s

WEEK_S = 7 * 24 * 3600.0


def make_entries(count: int, users: int, rng: random.Random, now: float) -> list[LedgerEntry]:
    """``count`` charges of 15 s spread over four weeks before ``now``, in time order."""
    start, step = now - 4 * WEEK_S, 4 * WEEK_S / count
    out = []
    for i in range(count):
        t = start + i * step
        out.append(LedgerEntry(f"user{rng.randrange(users)}", "demo", "job", f"job{i % 5000}",
                               rng.choice([0.25, 1.0, 2.0, 8.0]), t, t + 15.0, f"job:{i}"))
    return out


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median and p95 of ``repeats`` calls, in milliseconds."""
    samples = []
    for _ in range(repeats):
        began = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    rng, now = random.Random(1), 1_795_000_000.0
    entries = make_entries(args.entries, args.users, rng, now)
    since = now - WEEK_S

    began = time.perf_counter()
    ledger = GpuLedger()
    for entry in entries:
        ledger.charge(entry)
    charge_s = time.perf_counter() - began
    print(f"in-memory charge: {args.entries / charge_s:,.0f} entries/s ({charge_s:.2f} s for {args.entries:,})")

    users = [f"user{i}" for i in range(args.users)]
    pick = iter(rng.choice(users) for _ in range(10 * args.repeats))
    indexed = timed(lambda: ledger.used_gpu_s(next(pick), "demo", since, now), args.repeats)
    naive = timed(lambda: resum_gpu_s((e for e in entries if e.user == "user0"), since, now), max(args.repeats // 10, 3))
    print(f"in-memory decision, indexed GpuLedger: median {indexed[0]:.3f} ms, p95 {indexed[1]:.3f} ms")
    print(f"in-memory decision, naive re-sum:      median {naive[0]:.1f} ms, p95 {naive[1]:.1f} ms")
    check = ledger.used_gpu_s("user0", "demo", since, now)
    assert abs(check - resum_gpu_s((e for e in entries if e.user == "user0"), since, now)) < 1e-6 * max(check, 1)

    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'ledger.sqlite'}")
        run_migrations(engine)
        began = time.perf_counter()
        with engine.begin() as conn:
            rows = [{"key": e.key, "user": e.user, "competition": e.competition, "source": e.source,
                     "source_id": e.source_id, "gpu_fraction": e.gpu_fraction, "start_at": e.start,
                     "end_at": e.end, "gpu_seconds": e.gpu_seconds} for e in entries]
            for i in range(0, len(rows), 50_000):
                conn.execute(insert(LedgerRow), rows[i:i + 50_000])
        load_s = time.perf_counter() - began
        print(f"SQLite bulk insert: {args.entries / load_s:,.0f} rows/s")
        with Session(engine) as session:
            pick = iter(rng.choice(users) for _ in range(10 * args.repeats))
            sql = timed(lambda: load_gpu_seconds(session, next(pick), since, now), args.repeats)

            def naive_sql() -> float:
                rows = session.execute(select(LedgerRow.gpu_fraction, LedgerRow.start_at, LedgerRow.end_at)
                                       .where(LedgerRow.user == "user0")).all()
                return sum(f * max(min(e, now) - max(s, since), 0.0) for f, s, e in rows)

            naive_db = timed(naive_sql, max(args.repeats // 10, 3))
            assert abs(load_gpu_seconds(session, "user0", since, now) - naive_sql()) < 1e-6 * max(check, 1)
        engine.dispose()
    print(f"SQLite decision, load_gpu_seconds (index):   median {sql[0]:.2f} ms, p95 {sql[1]:.2f} ms")
    print(f"SQLite decision, naive load-all re-sum:      median {naive_db[0]:.1f} ms, p95 {naive_db[1]:.1f} ms")


if __name__ == "__main__":
    main()
