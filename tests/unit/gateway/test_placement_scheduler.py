"""The gateway's scheduler plans with the time limits of the jobs it stores (backfill is really used)."""

from pathlib import Path

import pytest

from arenahub.gateway.db import Database, run_migrations
from arenahub.gateway.logpump import PumpContext
from arenahub.gateway.models import Job
from arenahub.gateway.placement import get_policy
from arenahub.gateway.policies import make_policy_factory
from arenahub.gateway.scheduler import Scheduler, SchedulerConfig, build_cluster, time_limit_of
from arenahub.gateway.settings import GatewaySettings
from arenahub.gateway.signals import JobSignals
from tests.integration.gateway.fake_executor import FakeExecutor

pytestmark = pytest.mark.unit

HOUR = 3600


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def queued_job(job_id: str, user: str, gpus: int, limit_s: int, created_at: float) -> Job:
    spec = {"kind": "train", "entrypoint": "train.py", "gpus": gpus, "time_limit_s": limit_s,
            "env": {"FAKE_END": "hang", "FAKE_LINES": "0"}}
    return Job(id=job_id, user=user, kind="train", spec=spec, code_sha256="0" * 64, code_bytes=0,
               dataset=None, gpus_requested=gpus, status="queued", created_at=created_at)


def add_jobs(session, jobs: list[Job]) -> None:
    session.add_all(jobs)


def statuses(session) -> dict[str, tuple[str, str | None, str | None]]:
    return {j.id: (j.status, j.node, j.reason) for j in session.query(Job).all()}


@pytest.fixture
async def scheduler(tmp_path: Path):
    settings = GatewaySettings(
        db={"url": f"sqlite:///{tmp_path / 'gateway.db'}"}, paths={"state_dir": tmp_path / "state"},
        cluster={"nodes": {"node-a": 3}}, hub={"api_token": "scheduler-test-token"},
    )
    db = Database.from_url(settings.database_url)
    run_migrations(db.engine)
    clock = Clock(1_000_000.0)
    executor = FakeExecutor()
    ctx = PumpContext(executor=executor, db=db, signals=JobSignals(), clock=clock)
    config = SchedulerConfig(nodes=settings.cluster.nodes, policy=get_policy(settings.scheduler.policy),
                             interval_s=60, fair_share_window_s=7 * 24 * HOUR, state_dir=settings.state_dir,
                             run=settings.run)
    sched = Scheduler(config, ctx, make_policy_factory(settings.logs))
    yield sched, db, clock, executor
    await sched.stop()
    for job_id in list(executor.runs):
        if executor.runs[job_id].result is None:
            executor.finish(job_id, "cancelled")
    db.dispose()


async def test_the_gateway_backfills_a_job_that_ends_before_the_reserved_job_starts(scheduler):
    sched, db, clock, executor = scheduler
    t0 = clock.now
    # One 3-GPU node; ann's 1-GPU job runs with a 1 h limit.
    await db.write(add_jobs, [queued_job("first", "ann", 1, HOUR, t0)])
    await sched.run_once()
    assert (await db.read(statuses))["first"][:2] == ("running", "node-a")

    # 20 min later: a 3-GPU job must wait for "first" (reserved from t0 + 1 h at the latest);
    # a 30 min job takes a free GPU and ends before that; a 2 h job would run past it.
    clock.now = t0 + 1200
    await db.write(add_jobs, [
        queued_job("head", "cat", 3, HOUR, t0 + 1100),
        queued_job("short", "dan", 1, 1800, t0 + 1110),
        queued_job("long", "eve", 1, 2 * HOUR, t0 + 1120),
    ])
    await sched.run_once()
    jobs = await db.read(statuses)
    assert jobs["short"][:2] == ("running", "node-a")
    assert jobs["long"][0] == "queued" and "held for job head, which starts there within 40 min" in jobs["long"][2]
    assert jobs["head"][0] == "queued" and "reserved for this job: it starts there within 40 min" in jobs["head"][2]
    assert [spec.job_id for spec in executor.started] == ["first", "short"]


async def test_build_cluster_gives_running_jobs_their_end_by_time_limit():
    running = Job(id="r", user="ann", kind="train", spec={"time_limit_s": 600}, code_sha256="0" * 64,
                  code_bytes=0, dataset=None, gpus_requested=1, status="running", created_at=0.0,
                  started_at=100.0, node="node-a", gpus=[1])
    cluster = build_cluster({"node-a": 2}, [running])
    assert cluster.allocation_of("r").ends_by == 700.0
    assert time_limit_of(running) == 600.0
    running.spec = {}
    assert build_cluster({"node-a": 2}, [running]).allocation_of("r").ends_by is None
