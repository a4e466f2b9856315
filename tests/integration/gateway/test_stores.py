"""Store functions on a migrated database; each test runs in a transaction that is rolled back."""

import pytest
from sqlalchemy.orm import Session

from arenahub.core.errors import Conflict, NotFound
from arenahub.gateway.db import make_engine, run_migrations
from arenahub.gateway.jobstore import load_recent_usage, mark_started, request_cancel, save_new_job, save_result
from arenahub.gateway.logstore import LogBatch, ShownLine, load_log_lines, save_log_batch
from arenahub.gateway.models import Job

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(database_url):
    engine = make_engine(database_url)
    run_migrations(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with engine.connect() as connection:
        outer = connection.begin()
        with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
            yield session
        outer.rollback()


def new_job(session, job_id="j1", user="ada", created_at=100.0):
    return save_new_job(session, Job(
        id=job_id, user=user, kind="train", spec={"kind": "train", "entrypoint": "train.py"}, code_sha256="0" * 64,
        code_bytes=10, dataset=None, gpus_requested=1, status="queued", created_at=created_at, log_offset=0, log_lines=0,
    ))


def lines(*seqs):
    return [ShownLine(seq, 1.0, "stdout", f"line {seq}", "show") for seq in seqs]


def test_a_log_batch_moves_the_committed_offset_and_is_stored_once(session):
    new_job(session)
    assert save_log_batch(session, "j1", LogBatch(lines(0, 1), [], [], offset=80))
    assert not save_log_batch(session, "j1", LogBatch(lines(0, 1), [], [], offset=80))  # a replay after a crash
    assert save_log_batch(session, "j1", LogBatch(lines(2), [], [], offset=120))
    job = session.get(Job, "j1")
    assert (job.log_offset, job.log_lines) == (120, 3)
    assert [l.seq for l in load_log_lines(session, "j1", after=-1, limit=10)] == [0, 1, 2]


def test_the_rollback_left_no_rows_from_the_previous_test(session):
    assert session.get(Job, "j1") is None


def test_cancel_of_a_queued_job_is_immediate_and_of_a_finished_job_a_conflict(session):
    new_job(session)
    assert request_cancel(session, "j1", now=5.0).status == "cancelled"
    with pytest.raises(Conflict):
        request_cancel(session, "j1", now=6.0)
    with pytest.raises(NotFound):
        request_cancel(session, "nope", now=6.0)


def test_a_job_only_starts_from_the_queue_and_keeps_its_first_final_status(session):
    new_job(session)
    assert mark_started(session, "j1", node="local", gpus=[1], now=10.0).status == "running"
    assert mark_started(session, "j1", node="local", gpus=[0], now=11.0) is None
    save_result(session, "j1", status="succeeded", exit_code=0, reason="ok", finished_at=20.0)
    save_result(session, "j1", status="lost", exit_code=None, reason="late", finished_at=30.0)
    job = session.get(Job, "j1")
    assert (job.status, job.gpus, job.finished_at) == ("succeeded", [1], 20.0)


def test_recent_usage_counts_gpu_seconds_inside_the_window(session):
    new_job(session, "a1", "ada")
    new_job(session, "a2", "ada")
    new_job(session, "b1", "bob")
    mark_started(session, "a1", node="n", gpus=[0, 1], now=0.0)
    save_result(session, "a1", status="succeeded", exit_code=0, reason="", finished_at=100.0)
    mark_started(session, "a2", node="n", gpus=[0], now=150.0)  # still running
    mark_started(session, "b1", node="n", gpus=[], now=0.0)  # CPU only
    usage = load_recent_usage(session, since=50.0, now=200.0)
    assert usage == {"ada": 2 * 50.0 + 1 * 50.0}
