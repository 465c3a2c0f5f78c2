"""permissions: team-mode grants (MLflow's levels) on experiments and registered models,
hub groups as MLflow roles

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 18:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "permissions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("resource_type", sa.String(32), nullable=False),
        sa.Column("resource_id", sa.String(256), nullable=False),
        sa.Column("grantee_kind", sa.String(16), nullable=False),
        sa.Column("grantee", sa.String(256), nullable=False),
        sa.Column("permission", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_permissions"),
        sa.UniqueConstraint(
            "resource_type", "resource_id", "grantee_kind", "grantee", name="uq_permissions_grant"
        ),
    )
    op.create_index(
        "ix_permissions_grantee", "permissions", ["grantee_kind", "grantee"], unique=False
    )
    op.create_table(
        "hub_group_roles",
        sa.Column("role_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("group_name", sa.String(256), nullable=False),
        sa.PrimaryKeyConstraint("role_id", name="pk_hub_group_roles"),
        sa.UniqueConstraint("group_name", name="uq_hub_group_roles_group_name"),
    )


def downgrade() -> None:
    op.drop_table("hub_group_roles")
    op.drop_index("ix_permissions_grantee", table_name="permissions")
    op.drop_table("permissions")
