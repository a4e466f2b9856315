"""Competitions and test-job scores.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "competitions",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("source_yaml", sa.Text(), nullable=False),
        sa.Column("dataset", sa.String(255), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.Column("closed_by", sa.String(255), nullable=True),
    )
    op.create_index("ix_competitions_dataset", "competitions", ["dataset"])
    op.create_table(
        "scores",
        sa.Column("job_id", sa.String(32), sa.ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("competition_id", sa.String(63), sa.ForeignKey("competitions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user", sa.String(255), nullable=False),
        sa.Column("code_sha256", sa.String(64), nullable=False),
        sa.Column("submitted_at", sa.Float(), nullable=False),
        sa.Column("scored_at", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("on_leaderboard", sa.Boolean(), nullable=False),
        sa.Column("public_score", sa.Float(), nullable=True),
        sa.Column("private_score", sa.Float(), nullable=True),
        sa.Column("public_metrics", sa.JSON(), nullable=False),
        sa.Column("private_metrics", sa.JSON(), nullable=False),
        sa.Column("per_sample", sa.JSON(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.create_index("ix_scores_competition_user", "scores", ["competition_id", "user"])


def downgrade() -> None:
    op.drop_index("ix_scores_competition_user", table_name="scores")
    op.drop_table("scores")
    op.drop_index("ix_competitions_dataset", table_name="competitions")
    op.drop_table("competitions")
