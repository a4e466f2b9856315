"""Initial schema: jobs, log_lines, withheld_lines, metrics, datasets.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("code_bytes", sa.BigInteger(), nullable=False),
        sa.Column("dataset", sa.String(255), nullable=True),
        sa.Column("gpus_requested", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("started_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("cancel_requested_at", sa.Float(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("node", sa.String(255), nullable=True),
        sa.Column("gpus", sa.JSON(), nullable=True),
        sa.Column("run_handle", sa.Text(), nullable=True),
        sa.Column("log_offset", sa.BigInteger(), nullable=False),
        sa.Column("log_lines", sa.Integer(), nullable=False),
    )
    op.create_index("ix_jobs_user", "jobs", ["user"])
    op.create_index("ix_jobs_status", "jobs", ["status"])
    op.create_table(
        "log_lines",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
    )
    op.create_table(
        "withheld_lines",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("record_seq", sa.Integer(), primary_key=True),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("stream", sa.String(16), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
    )
    op.create_table(
        "metrics",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
    )
    op.create_index("ix_metrics_job_cursor", "metrics", ["job_id", "id"])
    op.create_table(
        "datasets",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("registered_by", sa.String(255), nullable=False),
        sa.Column("registered_at", sa.Float(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("datasets")
    op.drop_index("ix_metrics_job_cursor", table_name="metrics")
    op.drop_table("metrics")
    op.drop_table("withheld_lines")
    op.drop_table("log_lines")
    op.drop_index("ix_jobs_status", table_name="jobs")
    op.drop_index("ix_jobs_user", table_name="jobs")
    op.drop_table("jobs")
