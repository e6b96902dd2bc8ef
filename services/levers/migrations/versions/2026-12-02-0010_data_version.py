"""data version: the counter every writing transaction bumps (planeco_shared.dataversion)

Revision ID: 2274f6715c14
Revises: 25a7913600ab
Create Date: 2026-12-02 00:10:00
"""

from collections.abc import Sequence

from alembic import op

from planeco_shared.dataversion import create_data_version_table

revision: str = "2274f6715c14"
down_revision: str | None = "25a7913600ab"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_data_version_table(op)


def downgrade() -> None:
    op.drop_table("data_version")
