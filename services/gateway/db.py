"""Database engine, sessions and migrations: SQLite in WAL mode by default, PostgreSQL in production."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio.to_thread
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str, *, pool_size: int = 5) -> Engine:
    """An engine for ``url``; SQLite gets WAL mode, a busy timeout and foreign keys.

    A bare ``postgresql://`` URL is read as ``postgresql+psycopg://`` (psycopg 3).
    """
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_size=pool_size, max_overflow=10, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"check_same_thread": False, "timeout": 30})
    _make_sqlite_transactional(engine)
    return engine


def _make_sqlite_transactional(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINT; we emit BEGIN
    # ourselves (the SQLAlchemy recipe). Writers use BEGIN IMMEDIATE so two writers queue on the
    # busy timeout instead of failing with "database is locked" when a read upgrades to a write.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def run_migrations(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision (safe to repeat)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        connection.commit()


class Database:
    """Runs store functions ``fn(session, *args)`` in worker threads, each in one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._readers = sessionmaker(engine, expire_on_commit=False)
        self._writers = sessionmaker(engine.execution_options(sqlite_immediate=True), expire_on_commit=False)
        self._in_flight = 0
        self._idle = threading.Condition()

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 5) -> Database:
        """A database for ``url`` (see ``make_engine``)."""
        return cls(make_engine(url, pool_size=pool_size))

    @property
    def is_sqlite(self) -> bool:
        """True when the backend is SQLite."""
        return self.engine.dialect.name == "sqlite"

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in a read transaction and return its result."""
        return await anyio.to_thread.run_sync(self._run, self._readers, fn, args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in a write transaction, commit, and return its result."""
        return await anyio.to_thread.run_sync(self._run, self._writers, fn, args)

    def run_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(session, *args)`` in a write transaction on this thread (startup, tools)."""
        return self._run(self._writers, fn, args)

    def _run(self, factory: sessionmaker[Session], fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._idle:
            self._in_flight += 1
        try:
            with factory() as session, session.begin():
                return fn(session, *args)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _wait_idle(self, timeout_s: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout_s)

    async def close(self, *, timeout_s: float = 10.0) -> None:
        """Wait up to ``timeout_s`` for transactions still running in worker threads, then dispose.

        A connection checked out while the pool is disposed is never closed (SQLAlchemy leaves
        it to the garbage collector), so a gateway stopping mid-request would leak it.
        """
        if not await anyio.to_thread.run_sync(self._wait_idle, timeout_s):
            log.warning("Closing the database with %d transaction(s) still running after %.0f s",
                        self._in_flight, timeout_s)
        self.dispose()

    def dispose(self) -> None:
        """Close every pooled connection now; ``close()`` first waits for running transactions."""
        self.engine.dispose()
