"""questionnaire owner territory, content, editions

A questionnaire is owned by a territory of any level (owner_level + owner_code, and the région it lies in),
replacing region_code: existing rows keep their owner (a région's become level `region`, the others
`nation`). It has content (sections), a content hash, a lock, and an edition in a lineage: each existing
row is edition 1 of its own lineage, unlocked, with no sections.

Revision ID: 2855b0b25fdf
Revises: 2fec6cf5642f
Create Date: 2026-12-02 06:05:36.601188
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import planeco_shared.models

revision: str = "2855b0b25fdf"
down_revision: str | None = "2fec6cf5642f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
OWNER_LEVEL = sa.Enum("nation", "region", "departement", name="ownerlevel", native_enum=False, length=20)
# The hash of an empty content is computed by the application on the next save; "" until then.


def upgrade() -> None:
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lineage_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("edition", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("previous_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("owner_level", OWNER_LEVEL, nullable=False, server_default="nation"))
        batch_op.add_column(sa.Column("owner_code", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("owner_region", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("sections", JSON, nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("content_hash", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("source", sa.String(length=60), nullable=True))
        batch_op.add_column(
            sa.Column("locked_at", planeco_shared.models.UTCDateTime(timezone=True), nullable=True)
        )

    op.execute(
        "UPDATE questionnaires SET lineage_id = id, owner_level = 'region', owner_code = region_code, "
        "owner_region = region_code WHERE region_code IS NOT NULL"
    )
    op.execute("UPDATE questionnaires SET lineage_id = id WHERE region_code IS NULL")

    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.alter_column("lineage_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.alter_column("edition", existing_type=sa.Integer(), server_default=None)
        batch_op.alter_column("owner_level", existing_type=OWNER_LEVEL, server_default=None)
        batch_op.alter_column("sections", existing_type=JSON, server_default=None)
        batch_op.alter_column("content_hash", existing_type=sa.String(length=64), server_default=None)
        batch_op.drop_index(batch_op.f("ix_questionnaires_region_code"))
        batch_op.create_index(batch_op.f("ix_questionnaires_lineage_id"), ["lineage_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaires_owner_code"), ["owner_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaires_owner_level"), ["owner_level"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaires_owner_region"), ["owner_region"], unique=False)
        batch_op.create_index(batch_op.f("ix_questionnaires_source"), ["source"], unique=False)
        batch_op.create_unique_constraint("uq_questionnaires_lineage_edition", ["lineage_id", "edition"])
        batch_op.create_foreign_key(
            batch_op.f("fk_questionnaires_previous_id_questionnaires"),
            "questionnaires",
            ["previous_id"],
            ["id"],
        )
        batch_op.drop_column("region_code")


def downgrade() -> None:
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region_code", sa.String(length=3), nullable=True))
    # A département's questionnaire had no place before: it goes back as its région's.
    op.execute("UPDATE questionnaires SET region_code = owner_region")
    with op.batch_alter_table("questionnaires", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_questionnaires_previous_id_questionnaires"), type_="foreignkey"
        )
        batch_op.drop_constraint("uq_questionnaires_lineage_edition", type_="unique")
        batch_op.drop_index(batch_op.f("ix_questionnaires_source"))
        batch_op.drop_index(batch_op.f("ix_questionnaires_owner_region"))
        batch_op.drop_index(batch_op.f("ix_questionnaires_owner_level"))
        batch_op.drop_index(batch_op.f("ix_questionnaires_owner_code"))
        batch_op.drop_index(batch_op.f("ix_questionnaires_lineage_id"))
        batch_op.create_index(batch_op.f("ix_questionnaires_region_code"), ["region_code"], unique=False)
        batch_op.drop_column("locked_at")
        batch_op.drop_column("source")
        batch_op.drop_column("content_hash")
        batch_op.drop_column("sections")
        batch_op.drop_column("owner_region")
        batch_op.drop_column("owner_code")
        batch_op.drop_column("owner_level")
        batch_op.drop_column("previous_id")
        batch_op.drop_column("edition")
        batch_op.drop_column("lineage_id")
