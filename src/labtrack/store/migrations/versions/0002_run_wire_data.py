"""runs.wire_data: a run's data in MLflow's wire shape, spliced into REST search answers

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
    # and gets one on its next write (see TrackingStore._refresh_summary).
    op.add_column("runs", sa.Column("wire_data", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("wire_data")
