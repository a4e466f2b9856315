"""Jobs remember which job they re-run (an admin's reproduction of a scored snapshot).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("rerun_of", sa.String(32), nullable=True))
        batch.create_index("ix_jobs_rerun_of", ["rerun_of"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_rerun_of")
        batch.drop_column("rerun_of")
