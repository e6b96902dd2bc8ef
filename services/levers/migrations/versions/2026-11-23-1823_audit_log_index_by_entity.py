"""audit log index by entity

Revision ID: e5ab4bc17ffb
Revises: 64c25b3a70a6
Create Date: 2026-11-23 18:23:40.019228
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "e5ab4bc17ffb"
down_revision: str | None = "64c25b3a70a6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity_type", "entity_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")
