"""permissions: team-mode grants (MLflow's levels) on experiments and registered models

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permissions",
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.String(256), nullable=False),
        sa.Column("grantee_kind", sa.String(16), nullable=False),
        sa.Column("grantee", sa.String(256), nullable=False),
        sa.Column("permission", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint(
            "resource_type", "resource_id", "grantee_kind", "grantee", name="pk_permissions"
        ),
    )
    op.create_index(
        "ix_permissions_grantee", "permissions", ["grantee_kind", "grantee"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_permissions_grantee", table_name="permissions")
    op.drop_table("permissions")
