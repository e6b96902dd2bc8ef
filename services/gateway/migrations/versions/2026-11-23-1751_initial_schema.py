"""initial schema

Revision ID: c77e81696da6
Revises:
Create Date: 2026-11-23 17:51:35.722720
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models

revision: str = "c77e81696da6"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "coordinator",
                "contributor",
                "reader",
                "anonymous",
                name="role",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("territory", sa.String(length=9), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
