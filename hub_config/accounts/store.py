"""The ``arenahub_accounts`` table and the few operations the hub performs on it (SQLAlchemy 2).

The table lives in the hub's own database (SQLite or PostgreSQL) but is reached through an
engine of its own, so it never shares a session or a transaction with JupyterHub's ORM.
Times are stored as naive UTC and handed out as timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Integer, String, create_engine, select
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from .policy import Lockout, after_failed_sign_in


class AccountError(Exception):
    """A requested change to an account cannot be made; the message says why."""


class AccountExists(AccountError):
    def __init__(self, username: str):
        super().__init__(f"The name '{username}' is taken. Choose another name, "
                         "or sign in if the account is yours.")


class AccountNotFound(AccountError):
    def __init__(self, username: str):
        super().__init__(f"There is no account named '{username}'; it may have been "
                         "discarded or deleted meanwhile. Reload the list.")


class _Base(DeclarativeBase):
    pass


class AccountRow(_Base):
    """One row per person who signed up or was seeded."""

    __tablename__ = "arenahub_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(String(128), nullable=False)
    is_approved: Mapped[bool] = mapped_column("approved", Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


@dataclass(frozen=True)
class Account:
    """A read-only copy of one account row, safe to use after its session is closed."""

    username: str
    password_hash: str = field(repr=False)
    is_approved: bool
    created_at: datetime
    approved_at: datetime | None
    approved_by: str | None
    failed_attempts: int
    locked_until: datetime | None


def _to_db(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _from_db(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(tzinfo=UTC)


def _snapshot(row: AccountRow) -> Account:
    created_at = _from_db(row.created_at)
    if created_at is None:  # the column is NOT NULL; this only narrows the type
        raise AccountError(f"Account '{row.username}' has no creation time.")
    return Account(
        username=row.username, password_hash=row.password_hash, is_approved=row.is_approved,
        created_at=created_at, approved_at=_from_db(row.approved_at),
        approved_by=row.approved_by, failed_attempts=row.failed_attempts,
        locked_until=_from_db(row.locked_until),
    )


def make_engine_url(db_url: str) -> URL:
    """The SQLAlchemy URL for ``db_url``; plain ``postgresql://`` gets the psycopg 3 driver.

    arenahub depends on psycopg (3), not psycopg2, which SQLAlchemy picks for a URL that
    names no driver.
    """
    url = make_url(db_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def _make_engine(db_url: str) -> Engine:
    url = make_engine_url(db_url)
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            # One shared connection, or every checkout would see a fresh empty database.
            return create_engine(url, poolclass=StaticPool,
                                 connect_args={"check_same_thread": False})
        return create_engine(url)
    return create_engine(url, pool_pre_ping=True)


class AccountStore:
    """Reads and changes accounts; every method is one short transaction."""

    def __init__(self, db_url: str):
        self.engine = _make_engine(db_url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def ensure_schema(self) -> None:
        """Create the accounts table when it is missing (safe to repeat)."""
        _Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @staticmethod
    def _row(session: Session, username: str, *, for_update: bool = False) -> AccountRow:
        query = select(AccountRow).where(AccountRow.username == username)
        if for_update:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise AccountNotFound(username)
        return row

    def find(self, username: str) -> Account | None:
        """The account named ``username``, or None."""
        with self._transaction() as session:
            row = session.scalars(
                select(AccountRow).where(AccountRow.username == username)).one_or_none()
            return None if row is None else _snapshot(row)

    def list_accounts(self) -> list[Account]:
        """Every account: those waiting for approval first, oldest first within each group."""
        with self._transaction() as session:
            rows = session.scalars(select(AccountRow).order_by(
                AccountRow.is_approved, AccountRow.created_at, AccountRow.username))
            return [_snapshot(row) for row in rows]

    def create(self, username: str, password_hash: str, *, now: datetime,
               approved_by: str | None) -> Account:
        """Add an account, approved when ``approved_by`` names who approved it.

        Raises AccountExists when the name is taken, also when two sign-ups race.
        """
        row = AccountRow(
            username=username, password_hash=password_hash, is_approved=approved_by is not None,
            created_at=_to_db(now), approved_at=_to_db(now) if approved_by else None,
            approved_by=approved_by, failed_attempts=0, locked_until=None,
        )
        try:
            with self._transaction() as session:
                session.add(row)
        except IntegrityError as err:
            raise AccountExists(username) from err
        return _snapshot(row)

    def approve(self, username: str, *, by: str, now: datetime) -> Account:
        """Let ``username`` sign in from now on; raises AccountNotFound."""
        with self._transaction() as session:
            row = self._row(session, username, for_update=True)
            if not row.is_approved:
                row.is_approved, row.approved_at, row.approved_by = True, _to_db(now), by
            return _snapshot(row)

    def revoke(self, username: str) -> Account:
        """Stop ``username`` from signing in; the name stays taken. Raises AccountNotFound."""
        with self._transaction() as session:
            row = self._row(session, username, for_update=True)
            row.is_approved, row.approved_at, row.approved_by = False, None, None
            return _snapshot(row)

    def unlock(self, username: str) -> Account:
        """Clear the failure counter and any lock; raises AccountNotFound."""
        with self._transaction() as session:
            row = self._row(session, username, for_update=True)
            row.failed_attempts, row.locked_until = 0, None
            return _snapshot(row)

    def delete(self, username: str) -> bool:
        """Remove the account; True when there was one."""
        with self._transaction() as session:
            try:
                session.delete(self._row(session, username, for_update=True))
            except AccountNotFound:
                return False
            return True

    def set_password_hash(self, username: str, password_hash: str) -> None:
        """Replace the stored password hash; raises AccountNotFound."""
        with self._transaction() as session:
            self._row(session, username, for_update=True).password_hash = password_hash

    def record_failed_sign_in(self, username: str, *, now: datetime, lockout_attempts: int,
                              lockout_s: int) -> Lockout:
        """Count one failed sign-in, locking the account when the limit is reached."""
        with self._transaction() as session:
            row = self._row(session, username, for_update=True)
            lockout = after_failed_sign_in(row.failed_attempts, now,
                                           lockout_attempts=lockout_attempts, lockout_s=lockout_s)
            row.failed_attempts = lockout.failed_attempts
            if lockout.locked_until is not None:
                row.locked_until = _to_db(lockout.locked_until)
            return lockout

    def record_sign_in(self, username: str) -> None:
        """Forget earlier failures after a correct password; raises AccountNotFound."""
        with self._transaction() as session:
            row = self._row(session, username, for_update=True)
            if row.failed_attempts or row.locked_until is not None:
                row.failed_attempts, row.locked_until = 0, None
