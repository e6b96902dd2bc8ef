"""declination keys uploaded by régions

Revision ID: 7866f28ad67a
Revises: 7fd4248ffc70
Create Date: 2026-11-23 18:11:44.524754
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "7866f28ad67a"
down_revision: str | None = "7fd4248ffc70"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "declination_keys",
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("lever_id", sa.String(length=80), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=True),
        sa.Column("uploaded_by", sa.String(length=200), nullable=False),
        sa.Column("uploaded_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_declination_keys_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("region_code", "lever_id", "level", name=op.f("pk_declination_keys")),
    )
    op.create_table(
        "declination_key_values",
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("lever_id", sa.String(length=80), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("value", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.ForeignKeyConstraint(
            ["region_code", "lever_id", "level"],
            ["declination_keys.region_code", "declination_keys.lever_id", "declination_keys.level"],
            name=op.f("fk_declination_key_values_region_code_declination_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "region_code", "lever_id", "level", "code", name=op.f("pk_declination_key_values")
        ),
    )


def downgrade() -> None:
    op.drop_table("declination_key_values")
    op.drop_table("declination_keys")
