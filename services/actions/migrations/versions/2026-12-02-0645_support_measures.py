"""support measures: each owner's catalogue of dispositifs d'accompagnement

Revision ID: 1779bb257d53
Revises: bd21943ecf66
Create Date: 2026-12-02 06:27:01.603480
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "1779bb257d53"
down_revision: str | None = "bd21943ecf66"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "support_measures",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_key", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("carrier", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "lever_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lever_index", sa.String(length=2000), nullable=False),
        sa.Column(
            "support_types",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("support_type_index", sa.String(length=300), nullable=False),
        sa.Column(
            "audiences",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("audience_index", sa.String(length=300), nullable=False),
        sa.Column("in_own_hands", sa.Text(), nullable=False),
        sa.Column("resources", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "owner_level",
            sa.Enum("nation", "region", "departement", name="ownerlevel", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column("owner_code", sa.String(length=3), nullable=True),
        sa.Column("owner_region", sa.String(length=3), nullable=True),
        sa.Column("archived_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            planeco_shared.models.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            planeco_shared.models.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_measures")),
        sa.UniqueConstraint("owner_key", "key", name=op.f("uq_support_measures_owner_key_key")),
    )
    with op.batch_alter_table("support_measures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_measures_archived_at"), ["archived_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_support_measures_owner_code"), ["owner_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_support_measures_owner_level"), ["owner_level"], unique=False)
        batch_op.create_index(batch_op.f("ix_support_measures_owner_region"), ["owner_region"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("support_measures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_measures_owner_region"))
        batch_op.drop_index(batch_op.f("ix_support_measures_owner_level"))
        batch_op.drop_index(batch_op.f("ix_support_measures_owner_code"))
        batch_op.drop_index(batch_op.f("ix_support_measures_archived_at"))

    op.drop_table("support_measures")
