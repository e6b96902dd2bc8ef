"""response answers: one row per respondent and lever flagged (`lever_first`), so that a lever's
respondents are a COUNT, backfilled (the row of the respondent's smallest item key of the lever)

Revision ID: e52b8f1d0a37
Revises: d41a7e0c9b12
Create Date: 2026-12-02 14:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e52b8f1d0a37"
down_revision: str | None = "d41a7e0c9b12"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lever_first", sa.Boolean(), nullable=True))
    # A correlated subquery on the primary key's prefix: the same statement on SQLite and PostgreSQL.
    op.execute(
        "UPDATE response_answers SET lever_first = (item_key = (SELECT min(b.item_key) "
        "FROM response_answers b WHERE b.invitee_id = response_answers.invitee_id "
        "AND b.lever_id = response_answers.lever_id))"
    )
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.alter_column("lever_first", existing_type=sa.Boolean(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.drop_column("lever_first")
