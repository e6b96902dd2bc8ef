"""debate: meetings of a working group (date, place, synthesis, documents)

Revision ID: 2011a51eea27
Revises: 709ae129e548
Create Date: 2026-12-02 07:16:07.485356
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "2011a51eea27"
down_revision: str | None = "709ae129e548"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "debate_meetings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("synthesis", sa.Text(), nullable=False),
        sa.Column(
            "documents",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
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
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["debate_working_groups.id"],
            name=op.f("fk_debate_meetings_group_id_debate_working_groups"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debate_meetings")),
    )
    with op.batch_alter_table("debate_meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_debate_meetings_archived_at"), ["archived_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_debate_meetings_date"), ["date"], unique=False)
        batch_op.create_index(batch_op.f("ix_debate_meetings_group_id"), ["group_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("debate_meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debate_meetings_group_id"))
        batch_op.drop_index(batch_op.f("ix_debate_meetings_date"))
        batch_op.drop_index(batch_op.f("ix_debate_meetings_archived_at"))

    op.drop_table("debate_meetings")
