"""metric_chunks.settled and, on PostgreSQL, one sequence for chunk seqs: concurrent writers
of one metric append without waiting for each other

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The size from which an appended chunk was settled before this revision (CHUNK_POINTS // 4).
_SETTLED_POINTS = 1024


def upgrade() -> None:
    op.add_column(
        "metric_chunks",
        sa.Column("settled", sa.Boolean(), nullable=False, server_default="0"),
    )
    op.execute(
        sa.text("UPDATE metric_chunks SET settled = (n_points >= :n)").bindparams(n=_SETTLED_POINTS)
    )
    if op.get_context().dialect.name == "postgresql":
        # New chunks sort after every stored one: start past the largest seq in use.
        # seq is a 32-bit column: 2^31 chunks per database.
        start = op.get_bind().execute(sa.text("SELECT max(seq) FROM metric_chunks")).scalar()
        op.execute(f"CREATE SEQUENCE metric_chunk_seq AS integer START {int(start or 0) + 1}")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP SEQUENCE metric_chunk_seq")
    with op.batch_alter_table("metric_chunks") as batch:
        batch.drop_column("settled")
