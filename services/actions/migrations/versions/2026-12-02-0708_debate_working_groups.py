"""debate: working groups of a COP (owner, theme, levers, members)

Revision ID: 709ae129e548
Revises: 1779bb257d53
Create Date: 2026-12-02 07:08:49.341121
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "709ae129e548"
down_revision: str | None = "1779bb257d53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "debate_working_groups",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("theme", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "lever_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lever_keys", sa.Text(), nullable=False),
        sa.Column(
            "members",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "en_preparation", "actif", "clos", name="workinggroupstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debate_working_groups")),
    )
    with op.batch_alter_table("debate_working_groups", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_debate_working_groups_archived_at"), ["archived_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_debate_working_groups_owner_code"), ["owner_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_debate_working_groups_owner_level"), ["owner_level"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_debate_working_groups_owner_region"), ["owner_region"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_debate_working_groups_status"), ["status"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("debate_working_groups", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debate_working_groups_status"))
        batch_op.drop_index(batch_op.f("ix_debate_working_groups_owner_region"))
        batch_op.drop_index(batch_op.f("ix_debate_working_groups_owner_level"))
        batch_op.drop_index(batch_op.f("ix_debate_working_groups_owner_code"))
        batch_op.drop_index(batch_op.f("ix_debate_working_groups_archived_at"))

    op.drop_table("debate_working_groups")
