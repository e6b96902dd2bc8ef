"""audit log index by entity

Revision ID: 309acc648061
Revises: ed6e77d9cdfc
Create Date: 2026-11-23 18:23:11.992282
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "309acc648061"
down_revision: str | None = "ed6e77d9cdfc"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_entity", ["entity_type", "entity_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_entity")
