"""runs.heartbeat_time: when a run's writer last said it is alive

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for every existing run: only runs that beat are ever marked KILLED.
    op.add_column("runs", sa.Column("heartbeat_time", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("heartbeat_time")
