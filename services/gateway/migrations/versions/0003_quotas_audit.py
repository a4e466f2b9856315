"""GPU ledger and charge cursors, notification targets, audit events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gpu_ledger",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("competition", sa.String(63), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("source_id", sa.String(255), nullable=False),
        sa.Column("gpu_fraction", sa.Float(), nullable=False),
        sa.Column("start_at", sa.Float(), nullable=False),
        sa.Column("end_at", sa.Float(), nullable=False),
        sa.Column("gpu_seconds", sa.Float(), nullable=False),
    )
    op.create_index("ix_gpu_ledger_user_end", "gpu_ledger", ["user", "end_at"])
    op.create_table(
        "charge_cursors",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("source_id", sa.String(255), primary_key=True),
        sa.Column("charged_until", sa.Float(), nullable=False),
        sa.Column("settled", sa.Boolean(), nullable=False),
    )
    op.create_table(
        "notify_targets",
        sa.Column("user", sa.String(255), primary_key=True),
        sa.Column("webhook_url", sa.Text(), nullable=True),
        sa.Column("email", sa.String(320), nullable=True),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    )
    op.create_table(
        "notify_sent",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=False),
        sa.UniqueConstraint("key", name="uq_notify_sent_key"),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    for column in ("ts", "kind", "actor"):
        op.create_index(f"ix_audit_events_{column}", "audit_events", [column])


def downgrade() -> None:
    for column in ("ts", "kind", "actor"):
        op.drop_index(f"ix_audit_events_{column}", table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("notify_sent")
    op.drop_table("notify_targets")
    op.drop_table("charge_cursors")
    op.drop_index("ix_gpu_ledger_user_end", table_name="gpu_ledger")
    op.drop_table("gpu_ledger")
