"""The Kubernetes executor follows a running job's log as one streaming request (kubectl logs -f),
against the real training control plane: kwok serves a log file that the test makes grow."""

from __future__ import annotations

import asyncio
import secrets
import ssl
from pathlib import Path

import pytest

from arenahub.gateway.executors.base import RunLimits, RunSpec
from arenahub.gateway.executors.kubejobs import COMPETITION_ENV, KubeJobSettings
from arenahub.gateway.executors.kubernetes import KubernetesExecutor, parse_handle
from tests.k8s.harness import ControlPlane, build_pod_lifecycle_annotations
from tests.k8s.harness.processes import http_ok, wait_until
from tests.k8s.logfollow import append_log_lines, collect, grow_log, settled_log_request_count

pytestmark = [pytest.mark.k8s, pytest.mark.timeout(180)]


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "train.py").write_text("print('epoch 1')\n")
    return folder


def make_executor(cluster: ControlPlane, run_s: float) -> KubernetesExecutor:
    settings = KubeJobSettings(image="registry.invalid/arenahub/job:test",
                               pool_selector={"arenahub.io/pool": "training"}, datasets_root="/srv/datasets",
                               pod_annotations=build_pod_lifecycle_annotations(run_s=run_s))
    return KubernetesExecutor(settings, kubeconfig=cluster.kubeconfig, poll_interval_s=0.2)


def make_spec(code_dir: Path, competition: str) -> RunSpec:
    return RunSpec(job_id=f"j{secrets.token_hex(4)}", user="alice", code_dir=code_dir, argv=["python3", "train.py"],
                   mounts=[], gpus=[0], limits=RunLimits(120, 8 << 30, 480, 512, 10 << 30),
                   env={COMPETITION_ENV: competition, "ARENAHUB_JOB_KIND": "train"})


def batches(first: int, count: int, size: int) -> list[list[str]]:
    return [[f"step {n} loss={1 / (n + 1):.4f}" for n in range(b, b + size)]
            for b in range(first, first + count * size, size)]


def served_bytes(lines: list[str]) -> int:
    return sum(len(line.encode()) + 1 for line in lines)


async def wait_running(executor: KubernetesExecutor, handle, timeout_s: float = 30) -> None:
    async def running():
        while await executor._log_pod(*parse_handle(handle)) is None:
            await asyncio.sleep(0.2)
    await asyncio.wait_for(running(), timeout_s)


async def test_a_log_growing_for_ten_seconds_arrives_line_by_line_once_in_order_over_a_constant_number_of_requests(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    log_file = training_cluster.serve_pod_logs(f"arenahub-runs-{competition}", ["step start"])
    growth = batches(0, 20, 10)  # 200 lines, 10 every 0.5 s
    executor = make_executor(training_cluster, run_s=14)
    records: list = []
    try:
        handle = await executor.start(make_spec(code_dir, competition))
        await wait_running(executor, handle)
        before = settled_log_request_count(training_cluster)
        reader = asyncio.create_task(collect(executor.read_logs(handle), records))
        await grow_log(log_file, growth, 0.5)
        await asyncio.wait_for(reader, 60)
    finally:
        await executor.aclose()
    requests = settled_log_request_count(training_cluster) - before
    expected = ["step start"] + [line for batch in growth for line in batch]
    assert [r.text for r in records] == expected
    assert [r.seq for r in records] == list(range(len(expected)))
    assert records[-1].offset == served_bytes(expected)
    # one followed request and one final read; polling every 0.2 s would have made about 60
    assert 1 <= requests <= 3, requests


async def test_a_reader_reattached_at_a_stored_offset_goes_on_without_gaps_or_duplicates(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    first_lines = [line for batch in batches(0, 2, 5) for line in batch]
    log_file = training_cluster.serve_pod_logs(f"arenahub-runs-{competition}", first_lines)
    later = batches(10, 6, 5)
    first, second = make_executor(training_cluster, run_s=10), make_executor(training_cluster, run_s=10)
    try:
        handle = await first.start(make_spec(code_dir, competition))
        seen = []
        async for record in first.read_logs(handle):  # the first gateway stored 6 lines, then died
            seen.append(record)
            if len(seen) == 6:
                break
        await first.aclose()
        append_log_lines(log_file, later[0])  # printed while no gateway ran
        rest: list = []
        reader = asyncio.create_task(collect(second.read_logs(handle, seen[-1].offset), rest))
        await grow_log(log_file, later[1:], 0.5)
        await asyncio.wait_for(reader, 60)
    finally:
        await first.aclose()
        await second.aclose()
    expected = first_lines + [line for batch in later for line in batch]
    assert [r.text for r in seen + rest] == expected
    assert [r.seq for r in seen + rest] == list(range(len(expected)))
    assert rest[-1].offset == served_bytes(expected)


async def test_a_stream_dropped_by_the_kubelet_restarting_reconnects_and_yields_no_line_twice(
    training_cluster: ControlPlane, competition: str, code_dir: Path
):
    log_file = training_cluster.serve_pod_logs(f"arenahub-runs-{competition}", ["step start"])
    kwok = next(p for p in training_cluster.processes if p.name == "kwok")
    before_drop, during_drop, after_drop = batches(0, 3, 4), batches(12, 1, 4), batches(16, 3, 4)
    executor = make_executor(training_cluster, run_s=14)
    records: list = []
    try:
        handle = await executor.start(make_spec(code_dir, competition))
        await wait_running(executor, handle)
        before = settled_log_request_count(training_cluster)
        reader = asyncio.create_task(collect(executor.read_logs(handle), records))
        await grow_log(log_file, before_drop, 0.5)
        await asyncio.sleep(1)
        kwok.stop()  # plays every node's kubelet: the API server's stream to it closes
        append_log_lines(log_file, during_drop[0])
        kwok.start()
        tls = ssl.create_default_context(cafile=str(training_cluster.ca_file))
        await asyncio.to_thread(wait_until, "kwok /healthz",
                                lambda: http_ok(f"https://127.0.0.1:{training_cluster.ports.kwok}/healthz", tls),
                                timeout_s=30)
        await grow_log(log_file, after_drop, 0.5)
        await asyncio.wait_for(reader, 60)
    finally:
        await executor.aclose()
    requests = settled_log_request_count(training_cluster) - before
    expected = ["step start"] + [line for batch in before_drop + during_drop + after_drop for line in batch]
    assert [r.text for r in records] == expected
    assert [r.seq for r in records] == list(range(len(expected)))
    # the followed request, at least one more after the drop (more while the kubelet was down), the final read
    assert 3 <= requests <= 12, requests
