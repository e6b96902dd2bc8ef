"""outbox messages: the campaign an invitation or a reminder is about (`campaign_id`), so that its queued
messages can be withdrawn when the campaign's dates change; null for messages queued before

Revision ID: f3c9a1b27d54
Revises: e52b8f1d0a37
Create Date: 2026-12-03 08:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f3c9a1b27d54"
down_revision: str | None = "e52b8f1d0a37"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("campaign_id", sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outbox_messages_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_messages_campaign_id_campaigns"), "campaigns", ["campaign_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_messages_campaign_id_campaigns"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_outbox_messages_campaign_id"))
        batch_op.drop_column("campaign_id")
