"""debate: proposals of a working group, promoted to COP actions (actions.proposal_id)

Revision ID: c6b74e0247bb
Revises: 2011a51eea27
Create Date: 2026-12-02 07:20:26.026421
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "c6b74e0247bb"
down_revision: str | None = "2011a51eea27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "debate_proposals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("group_id", sa.Uuid(), nullable=False),
        sa.Column("meeting_id", sa.Uuid(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "lever_ids",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("lever_keys", sa.Text(), nullable=False),
        sa.Column(
            "proposer",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "ouverte", "retenue", "ecartee", "promue", name="proposalstatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("action_id", sa.Uuid(), nullable=True),
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
            name=op.f("fk_debate_proposals_group_id_debate_working_groups"),
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["debate_meetings.id"],
            name=op.f("fk_debate_proposals_meeting_id_debate_meetings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_debate_proposals")),
        sa.UniqueConstraint("action_id", name=op.f("uq_debate_proposals_action_id")),
    )
    with op.batch_alter_table("debate_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_debate_proposals_archived_at"), ["archived_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_debate_proposals_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_debate_proposals_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_debate_proposals_status"), ["status"], unique=False)

    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proposal_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_actions_proposal_id"), ["proposal_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actions_proposal_id"))
        batch_op.drop_column("proposal_id")

    with op.batch_alter_table("debate_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_debate_proposals_status"))
        batch_op.drop_index(batch_op.f("ix_debate_proposals_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_debate_proposals_group_id"))
        batch_op.drop_index(batch_op.f("ix_debate_proposals_archived_at"))

    op.drop_table("debate_proposals")
