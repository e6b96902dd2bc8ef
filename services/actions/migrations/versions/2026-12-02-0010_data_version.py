"""data version: the counter every writing transaction bumps (planeco_shared.dataversion)

Revision ID: 13c9870818a3
Revises: 32924fc866d3
Create Date: 2026-12-02 00:10:00
"""

from collections.abc import Sequence

from alembic import op

from planeco_shared.dataversion import create_data_version_table

revision: str = "13c9870818a3"
down_revision: str | None = "32924fc866d3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_data_version_table(op)


def downgrade() -> None:
    op.drop_table("data_version")
