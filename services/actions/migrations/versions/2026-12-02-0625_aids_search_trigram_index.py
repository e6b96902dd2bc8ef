"""aids: a GIN trigram index (pg_trgm) on the search text, PostgreSQL only

Revision ID: 5b1e0c7a2f41
Revises: e28b90fb5727
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "5b1e0c7a2f41"
down_revision: str | None = "e28b90fb5727"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite scans the folded text, as before
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_aids_search_text_trgm",
        "aids",
        ["search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_aids_search_text_trgm", table_name="aids")
