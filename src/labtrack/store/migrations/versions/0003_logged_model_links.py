"""logged_model_metrics and run_model_inputs: a logged model's metrics and the runs using it

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Not back-filled from metric_chunks: points logged with a model before this revision stay
    # in their runs' histories only.
    op.create_table(
        "logged_model_metrics",
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("step", sa.BigInteger(), nullable=False, autoincrement=False),
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("dataset_name", sa.String(256), nullable=False, server_default=""),
        sa.Column("dataset_digest", sa.String(64), nullable=False, server_default=""),
        sa.Column("value", sa.Float(precision=53), nullable=False),
        sa.Column("is_nan", sa.Boolean(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["model_id"],
            ["logged_models.model_id"],
            name="fk_logged_model_metrics_model_id_logged_models",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            name="fk_logged_model_metrics_run_uuid_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "model_id",
            "key",
            "timestamp",
            "step",
            "run_uuid",
            "dataset_name",
            "dataset_digest",
            name="pk_logged_model_metrics",
        ),
    )
    op.create_table(
        "run_model_inputs",
        sa.Column("run_uuid", sa.String(32), nullable=False),
        sa.Column("model_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_uuid"],
            ["runs.run_uuid"],
            name="fk_run_model_inputs_run_uuid_runs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_uuid", "model_id", name="pk_run_model_inputs"),
    )


def downgrade() -> None:
    op.drop_table("run_model_inputs")
    op.drop_table("logged_model_metrics")
