"""synthesis publications

Revision ID: c74e4e367c40
Revises: 34d5cbb89a32
Create Date: 2026-12-02 10:01:20.040861
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "c74e4e367c40"
down_revision: str | None = "34d5cbb89a32"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "synthesis_publications",
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("published_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_synthesis_publications_campaign_id_campaigns")
        ),
        sa.PrimaryKeyConstraint("campaign_id", name=op.f("pk_synthesis_publications")),
    )


def downgrade() -> None:
    op.drop_table("synthesis_publications")
