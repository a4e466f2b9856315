"""The gateway's quota, notification and audit tables: the GPU ledger and its cursors, notify targets, audit events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from arenahub.gateway.models import Base


class LedgerRow(Base):
    """One charge of the append-only GPU ledger: ``gpu_fraction`` GPUs held by a job or notebook in [start_at, end_at).

    ``key`` is unique: the charger builds the same key when it repeats a charge after a crash,
    so the database refuses the duplicate. Rows are never updated or deleted.
    """

    __tablename__ = "gpu_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    user: Mapped[str] = mapped_column(String(255))
    competition: Mapped[str] = mapped_column(String(63), default="")
    source: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[str] = mapped_column(String(255))
    gpu_fraction: Mapped[float] = mapped_column(Float)
    start_at: Mapped[float] = mapped_column(Float)
    end_at: Mapped[float] = mapped_column(Float)
    gpu_seconds: Mapped[float] = mapped_column(Float)

    __table_args__ = (Index("ix_gpu_ledger_user_end", "user", "end_at"),)


class ChargeCursor(Base):
    """How far one job or notebook has been charged; moves in the same transaction as its ledger row.

    ``settled`` is set once a finished job has been charged up to its end (and its end notified).
    """

    __tablename__ = "charge_cursors"

    source: Mapped[str] = mapped_column(String(16), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    charged_until: Mapped[float] = mapped_column(Float)
    settled: Mapped[bool] = mapped_column(Boolean, default=False)


class NotifyTarget(Base):
    """Where one user wants notifications: a webhook URL and/or an e-mail address, and which events."""

    __tablename__ = "notify_targets"

    user: Mapped[str] = mapped_column(String(255), primary_key=True)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(String(320))
    events: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[float] = mapped_column(Float)


class NotifySent(Base):
    """A notification already sent, so a repeated pass (or a restarted gateway) does not send it twice."""

    __tablename__ = "notify_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(255))
    sent_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (UniqueConstraint("key", name="uq_notify_sent_key"),)


class AuditEvent(Base):
    """One append-only audit record: who did what to what, when; the gateway has no UPDATE or DELETE path."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    actor: Mapped[str] = mapped_column(String(255), index=True)
    subject: Mapped[str] = mapped_column(String(255), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
