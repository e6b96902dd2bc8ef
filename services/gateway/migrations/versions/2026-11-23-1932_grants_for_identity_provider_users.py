"""grants for identity-provider users

Revision ID: 75c2867f553d
Revises: c77e81696da6
Create Date: 2026-11-23 19:32:44.469233
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "75c2867f553d"
down_revision: str | None = "c77e81696da6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grants")),
    )
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.create_index("ix_grants_email_active", ["email", "revoked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grants", schema=None) as batch_op:
        batch_op.drop_index("ix_grants_email_active")

    op.drop_table("grants")
