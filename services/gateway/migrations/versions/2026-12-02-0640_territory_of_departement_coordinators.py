"""territory of keys and grants up to 20 characters: a coordinator's `departement:45` or `region:24`

Revision ID: 5e1d0c3a9b27
Revises: 03abb40c6665
Create Date: 2026-12-02 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5e1d0c3a9b27"
down_revision: str | None = "03abb40c6665"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("api_keys", "grants")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "territory", existing_type=sa.String(length=9), type_=sa.String(length=20), existing_nullable=True
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(
                "territory", existing_type=sa.String(length=20), type_=sa.String(length=9), existing_nullable=True
            )
