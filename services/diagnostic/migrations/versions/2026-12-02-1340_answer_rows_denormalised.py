"""response answers carry the respondent's type, département and submitted status (the synthesis joins
nothing), backfilled from the invitees and responses

Revision ID: d41a7e0c9b12
Revises: c74e4e367c40
Create Date: 2026-12-02 13:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d41a7e0c9b12"
down_revision: str | None = "c74e4e367c40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("respondent_type", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("departement", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("submitted", sa.Boolean(), nullable=True))
    # Correlated subqueries: the same statement on SQLite and PostgreSQL.
    op.execute(
        "UPDATE response_answers SET "
        "respondent_type = (SELECT i.type FROM campaign_invitees i WHERE i.id = response_answers.invitee_id), "
        "departement = (SELECT i.departement FROM campaign_invitees i "
        "WHERE i.id = response_answers.invitee_id), "
        "submitted = (SELECT r.status = 'submitted' FROM responses r "
        "WHERE r.invitee_id = response_answers.invitee_id)"
    )
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.alter_column("respondent_type", existing_type=sa.String(length=20), nullable=False)
        batch_op.alter_column("submitted", existing_type=sa.Boolean(), nullable=False)
        batch_op.drop_index("ix_response_answers_campaign_rank")
        batch_op.create_index(
            "ix_response_answers_campaign_counted", ["campaign_id", "submitted", "lever_rank"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_response_answers_campaign_counted")
        batch_op.create_index("ix_response_answers_campaign_rank", ["campaign_id", "lever_rank"], unique=False)
        batch_op.drop_column("submitted")
        batch_op.drop_column("departement")
        batch_op.drop_column("respondent_type")
