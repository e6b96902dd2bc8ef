"""outbox: the e-mails of the diagnostic, written with what causes them, sent by the send-mail job

Revision ID: b7a423e49810
Revises: 122152c32688
Create Date: 2026-12-02 06:47:23.625605
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "b7a423e49810"
down_revision: str | None = "122152c32688"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("territory_level", sa.String(length=20), nullable=False),
        sa.Column("territory_code", sa.String(length=9), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=True),
        sa.Column("departement_code", sa.String(length=3), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "queued", "sending", "sent", "failed", name="messagestatus", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_messages_message_id")),
        info={"planeco_unversioned": True},
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_messages_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_messages_sent_at"), ["sent_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_messages_sent_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_messages_region_code"))
        batch_op.drop_index("ix_outbox_messages_due")

    op.drop_table("outbox_messages")
