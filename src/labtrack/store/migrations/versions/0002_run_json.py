"""runs.run_json: a run as MLflow's REST API writes it, spliced into search answers

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable and not back-filled: a run without it is answered from its summary document
    # and gets one on its next write (see summaries.refresh_summary).
    op.add_column("runs", sa.Column("run_json", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("run_json")
