"""levers catalogue, panorama versions and objectives

Revision ID: 7fd4248ffc70
Revises: 9acb70206100
Create Date: 2026-11-23 18:00:01.160463
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "7fd4248ffc70"
down_revision: str | None = "9acb70206100"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lever_groups",
        sa.Column("id", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lever_groups")),
    )
    op.create_table(
        "panorama_versions",
        sa.Column("id", sa.String(length=10), nullable=False),
        sa.Column("source_file", sa.String(length=255), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=200), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("objective_count", sa.Integer(), nullable=False),
        sa.Column("skipped_row_count", sa.Integer(), nullable=False),
        sa.Column("lever_count", sa.Integer(), nullable=False),
        sa.Column("region_count", sa.Integer(), nullable=False),
        sa.Column(
            "source_fields",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panorama_versions")),
    )
    op.create_table(
        "sectors",
        sa.Column("id", sa.String(length=60), nullable=False),
        sa.Column("label", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sectors")),
    )
    op.create_table(
        "lever_versions",
        sa.Column("version_id", sa.String(length=10), nullable=False),
        sa.Column("lever_id", sa.String(length=80), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("sector_id", sa.String(length=60), nullable=False),
        sa.Column("group_id", sa.String(length=60), nullable=False),
        sa.Column("unit_physical", sa.Text(), nullable=True),
        sa.Column("unit_co2", sa.Text(), nullable=True),
        sa.Column("has_physical_unit", sa.Boolean(), nullable=False),
        sa.Column("editable", sa.Boolean(), nullable=False),
        sa.Column("show_target", sa.Boolean(), nullable=False),
        sa.Column("in_mainland", sa.Boolean(), nullable=False),
        sa.Column("in_overseas", sa.Boolean(), nullable=False),
        sa.Column("region_count", sa.Integer(), nullable=False),
        sa.Column(
            "varies_by_region",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["group_id"], ["lever_groups.id"], name=op.f("fk_lever_versions_group_id_lever_groups")
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_lever_versions_sector_id_sectors")
        ),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["panorama_versions.id"],
            name=op.f("fk_lever_versions_version_id_panorama_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "lever_id", name=op.f("pk_lever_versions")),
    )
    with op.batch_alter_table("lever_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lever_versions_group_id"), ["group_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_lever_versions_sector_id"), ["sector_id"], unique=False)

    op.create_table(
        "panorama_objectives",
        sa.Column("version_id", sa.String(length=10), nullable=False),
        sa.Column("lever_id", sa.String(length=80), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("region_name_source", sa.String(length=300), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("sector_id", sa.String(length=60), nullable=False),
        sa.Column("group_id", sa.String(length=60), nullable=False),
        sa.Column("objective_ktco2e", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("ratio", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("start_2019", sa.Numeric(precision=18, scale=6), nullable=False),
        sa.Column("unit_physical", sa.Text(), nullable=True),
        sa.Column("unit_co2", sa.Text(), nullable=True),
        sa.Column("has_physical_unit", sa.Boolean(), nullable=False),
        sa.Column("editable", sa.Boolean(), nullable=False),
        sa.Column("show_target", sa.Boolean(), nullable=False),
        sa.Column("relative", sa.Boolean(), nullable=True),
        sa.Column("region_enabled", sa.Boolean(), nullable=True),
        sa.Column("region_locked", sa.Boolean(), nullable=True),
        sa.Column("region_hidden", sa.Boolean(), nullable=True),
        sa.Column("region_limited", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("region_comment", sa.Text(), nullable=True),
        sa.Column("region_locked_comment", sa.Text(), nullable=True),
        sa.Column("disabled_comment", sa.Text(), nullable=True),
        sa.Column("path_sector", sa.Text(), nullable=True),
        sa.Column("path_group", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["lever_groups.id"], name=op.f("fk_panorama_objectives_group_id_lever_groups")
        ),
        sa.ForeignKeyConstraint(
            ["sector_id"], ["sectors.id"], name=op.f("fk_panorama_objectives_sector_id_sectors")
        ),
        sa.ForeignKeyConstraint(
            ["version_id", "lever_id"],
            ["lever_versions.version_id", "lever_versions.lever_id"],
            name=op.f("fk_panorama_objectives_version_id_lever_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", "lever_id", "region_code", name=op.f("pk_panorama_objectives")),
    )
    with op.batch_alter_table("panorama_objectives", schema=None) as batch_op:
        batch_op.create_index(
            "ix_panorama_objectives_version_region", ["version_id", "region_code"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("panorama_objectives", schema=None) as batch_op:
        batch_op.drop_index("ix_panorama_objectives_version_region")

    op.drop_table("panorama_objectives")
    with op.batch_alter_table("lever_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lever_versions_sector_id"))
        batch_op.drop_index(batch_op.f("ix_lever_versions_group_id"))

    op.drop_table("lever_versions")
    op.drop_table("sectors")
    op.drop_table("panorama_versions")
    op.drop_table("lever_groups")
