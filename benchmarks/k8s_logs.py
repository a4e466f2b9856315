"""Following a growing pod log: bytes and requests the Kubernetes executor costs the API server,
and how late each line arrives, polling (the executor before it followed) vs one followed stream.

Usage:
  .venv/bin/python benchmarks/k8s_logs.py [--mb 5] [--seconds 20] [--poll-interval 1.0] [--baseline-commit f6b1d7f8]

Starts the harness's training control plane. For each method a Job runs on a kwok node whose
log file the benchmark grows by `--mb` MB of 100-byte lines over `--seconds` (one batch every
0.5 s), while `read_logs()` follows it with poll_interval_s `--poll-interval`. Reported: log
requests the API server finished (its `apiserver_request_total`, subresource log), bytes the
executor received for them (the whole body of each polled read; the followed streams' byte
counts), and the delay from a batch's append to each of its lines being yielded (p50, p95, max).
The baseline is kubernetes.py at `--baseline-commit`, loaded from git into a temporary module.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from arenahub.gateway.executors.base import RunLimits, RunSpec  # noqa: E402
from arenahub.gateway.executors.kubejobs import COMPETITION_ENV, KubeJobSettings  # noqa: E402
from tests.k8s.harness import TRAINING, build_pod_lifecycle_annotations, start_control_plane  # noqa: E402
from tests.k8s.harness.nodes import build_default_nodes  # noqa: E402
from tests.k8s.logfollow import collect, grow_log, settled_log_request_count  # noqa: E402

BASELINE_COMMIT = "f6b1d7f87af9466c889208c1a925020441c60a13"  # the last polling executor
LINE_BYTES = 100
BATCH_S = 0.5


def load_baseline(commit: str, folder: Path) -> ModuleType:
    """kubernetes.py as it was at ``commit``, importable as bench_old_kubernetes."""
    source = subprocess.run(["git", "-C", str(REPO), "show", f"{commit}:services/gateway/executors/kubernetes.py"],
                            check=True, capture_output=True, text=True).stdout
    (folder / "bench_old_kubernetes.py").write_text(source)
    sys.path.insert(0, str(folder))
    return importlib.import_module("bench_old_kubernetes")


def counting_executor(module: ModuleType, received: list[int]) -> type:
    """The module's KubernetesExecutor, counting the bytes of every log response it reads."""
    base = module.KubernetesExecutor
    if hasattr(base, "_open_pod_log"):  # following: responses read a chunk at a time
        class Following(base):  # type: ignore[misc, valid-type]
            async def _open_pod_log(self, *args, **kwargs):
                response = await super()._open_pod_log(*args, **kwargs)
                if response is not None:
                    received.append(0)
                    index = len(received) - 1
                    content = response.content
                    close_response = response.close

                    def close() -> None:
                        received[index] = content.total_bytes
                        close_response()
                    response.close = close
                return response
        return Following

    class Polling(base):  # type: ignore[misc, valid-type]
        async def _pod_log(self, *args, **kwargs):
            data = await super()._pod_log(*args, **kwargs)
            received.append(len(data or b""))
            return data
    return Polling


def batches(total_bytes: int, seconds: float) -> list[list[str]]:
    count = int(seconds / BATCH_S)
    per_batch = total_bytes // LINE_BYTES // count
    return [[f"b{b:04d} l{n:05d} ".ljust(LINE_BYTES - 1, "x") for n in range(per_batch)] for b in range(count)]


async def follow_one(module: ModuleType, plane, code_dir: Path, growth: list[list[str]], poll_s: float,
                     run_s: float) -> dict:
    competition = f"bench{secrets.token_hex(2)}"
    log_file = plane.serve_pod_logs(f"arenahub-runs-{competition}", ["start"])
    received: list[int] = []
    settings = KubeJobSettings(image="registry.invalid/arenahub/job:bench",
                               pool_selector={"arenahub.io/pool": "training"},
                               pod_annotations=build_pod_lifecycle_annotations(run_s=run_s))
    executor = counting_executor(module, received)(settings, kubeconfig=plane.kubeconfig, poll_interval_s=poll_s)
    spec = RunSpec(job_id=f"b{secrets.token_hex(4)}", user="bench", code_dir=code_dir, argv=["python3", "train.py"],
                   mounts=[], gpus=[0], limits=RunLimits(3600, 8 << 30, 14400, 512, 10 << 30),
                   env={COMPETITION_ENV: competition})
    records: list = []
    appended_at: dict[str, float] = {}
    yielded_at: dict[str, float] = {}
    try:
        handle = await executor.start(spec)
        before = await asyncio.to_thread(settled_log_request_count, plane)
        reader = asyncio.create_task(collect(executor.read_logs(handle), records, yielded_at))
        began = time.monotonic()
        await grow_log(log_file, growth, BATCH_S, appended_at)
        grown_s = time.monotonic() - began
        await asyncio.wait_for(reader, 120)
    finally:
        await executor.aclose()
    requests = await asyncio.to_thread(settled_log_request_count, plane) - before
    expected = ["start"] + [line for batch in growth for line in batch]
    assert [r.text for r in records] == expected, "lines missing, duplicated or out of order"
    delays = sorted(yielded_at[line] - appended_at[line] for line in appended_at)
    return {"requests": requests, "bytes": sum(received), "log_bytes": records[-1].offset, "grown_s": grown_s,
            "p50": statistics.median(delays), "p95": delays[int(0.95 * (len(delays) - 1))], "max": delays[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--poll-interval", type=float, default=1.0)
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-k8s-logs-"))
    (root / "code").mkdir()
    (root / "code" / "train.py").write_text("print('epoch 1')\n")
    methods = [("polling (baseline)", load_baseline(args.baseline_commit, root)),
               ("following", importlib.import_module("arenahub.gateway.executors.kubernetes"))]
    growth = batches(int(args.mb * 1_000_000), args.seconds)
    plane = start_control_plane(TRAINING)
    rows = []
    try:
        plane.create_nodes(build_default_nodes(plane.name))
        for label, module in methods:
            row = asyncio.run(follow_one(module, plane, root / "code", growth, args.poll_interval,
                                         run_s=args.seconds + 6))
            rows.append((label, row))
            print(label, row, flush=True)
    finally:
        plane.stop()
    print(f"\nA Job's log growing to {rows[0][1]['log_bytes'] / 1e6:.1f} MB over {args.seconds:.0f} s, "
          f"poll_interval_s {args.poll_interval}\n")
    print("| method | log requests | bytes received | delay p50 | delay p95 | delay max |")
    print("|---|---|---|---|---|---|")
    for label, r in rows:
        print(f"| {label} | {r['requests']:.0f} | {r['bytes'] / 1e6:.1f} MB | {r['p50'] * 1000:.0f} ms "
              f"| {r['p95'] * 1000:.0f} ms | {r['max'] * 1000:.0f} ms |")


if __name__ == "__main__":
    main()
