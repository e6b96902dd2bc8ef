"""territories: EPCI, EPT, communes, CRTE

Revision ID: 9acb70206100
Revises: d7c320b29b01
Create Date: 2026-11-23 17:56:50.599925
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "9acb70206100"
down_revision: str | None = "d7c320b29b01"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crte",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_crte_region_code_regions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crte")),
    )
    with op.batch_alter_table("crte", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crte_region_code"), ["region_code"], unique=False)

    op.create_table(
        "epcis",
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_search", sa.String(length=200), nullable=False),
        sa.Column("nature", sa.String(length=5), nullable=False),
        sa.Column("financing_mode", sa.String(length=5), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["departement_code"], ["departements.code"], name=op.f("fk_epcis_departement_code_departements")
        ),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_epcis_region_code_regions")),
        sa.PrimaryKeyConstraint("siren", name=op.f("pk_epcis")),
    )
    with op.batch_alter_table("epcis", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epcis_departement_code"), ["departement_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_name_search"), ["name_search"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_nature"), ["nature"], unique=False)
        batch_op.create_index(batch_op.f("ix_epcis_region_code"), ["region_code"], unique=False)

    op.create_table(
        "epts",
        sa.Column("siren", sa.String(length=9), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=False),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["departement_code"], ["departements.code"], name=op.f("fk_epts_departement_code_departements")
        ),
        sa.ForeignKeyConstraint(["region_code"], ["regions.code"], name=op.f("fk_epts_region_code_regions")),
        sa.PrimaryKeyConstraint("siren", name=op.f("pk_epts")),
    )
    with op.batch_alter_table("epts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epts_departement_code"), ["departement_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_epts_region_code"), ["region_code"], unique=False)

    op.create_table(
        "communes",
        sa.Column("code", sa.String(length=5), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_search", sa.String(length=120), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("siren", sa.String(length=9), nullable=True),
        sa.Column("epci_siren", sa.String(length=9), nullable=True),
        sa.Column("ept_siren", sa.String(length=9), nullable=True),
        sa.Column("population", sa.Integer(), nullable=False),
        sa.Column(
            "postal_codes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["departement_code"],
            ["departements.code"],
            name=op.f("fk_communes_departement_code_departements"),
        ),
        sa.ForeignKeyConstraint(["epci_siren"], ["epcis.siren"], name=op.f("fk_communes_epci_siren_epcis")),
        sa.ForeignKeyConstraint(["ept_siren"], ["epts.siren"], name=op.f("fk_communes_ept_siren_epts")),
        sa.ForeignKeyConstraint(
            ["region_code"], ["regions.code"], name=op.f("fk_communes_region_code_regions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_communes")),
    )
    with op.batch_alter_table("communes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_communes_departement_code"), ["departement_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_communes_epci_siren"), ["epci_siren"], unique=False)
        batch_op.create_index(batch_op.f("ix_communes_ept_siren"), ["ept_siren"], unique=False)
        batch_op.create_index(batch_op.f("ix_communes_name_search"), ["name_search"], unique=False)
        batch_op.create_index(batch_op.f("ix_communes_region_code"), ["region_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_communes_siren"), ["siren"], unique=False)

    op.create_table(
        "crte_members",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("crte_id", sa.String(length=40), nullable=False),
        sa.Column("epci_siren", sa.String(length=9), nullable=True),
        sa.Column("commune_code", sa.String(length=5), nullable=True),
        sa.CheckConstraint(
            "(epci_siren IS NULL) <> (commune_code IS NULL)", name=op.f("ck_crte_members_one_kind")
        ),
        sa.ForeignKeyConstraint(
            ["commune_code"], ["communes.code"], name=op.f("fk_crte_members_commune_code_communes")
        ),
        sa.ForeignKeyConstraint(
            ["crte_id"], ["crte.id"], name=op.f("fk_crte_members_crte_id_crte"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["epci_siren"], ["epcis.siren"], name=op.f("fk_crte_members_epci_siren_epcis")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crte_members")),
        sa.UniqueConstraint("commune_code", name=op.f("uq_crte_members_commune_code")),
        sa.UniqueConstraint("epci_siren", name=op.f("uq_crte_members_epci_siren")),
    )
    with op.batch_alter_table("crte_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crte_members_crte_id"), ["crte_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("crte_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crte_members_crte_id"))

    op.drop_table("crte_members")
    with op.batch_alter_table("communes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_communes_siren"))
        batch_op.drop_index(batch_op.f("ix_communes_region_code"))
        batch_op.drop_index(batch_op.f("ix_communes_name_search"))
        batch_op.drop_index(batch_op.f("ix_communes_ept_siren"))
        batch_op.drop_index(batch_op.f("ix_communes_epci_siren"))
        batch_op.drop_index(batch_op.f("ix_communes_departement_code"))

    op.drop_table("communes")
    with op.batch_alter_table("epts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epts_region_code"))
        batch_op.drop_index(batch_op.f("ix_epts_departement_code"))

    op.drop_table("epts")
    with op.batch_alter_table("epcis", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epcis_region_code"))
        batch_op.drop_index(batch_op.f("ix_epcis_nature"))
        batch_op.drop_index(batch_op.f("ix_epcis_name_search"))
        batch_op.drop_index(batch_op.f("ix_epcis_departement_code"))

    op.drop_table("epcis")
    with op.batch_alter_table("crte", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crte_region_code"))

    op.drop_table("crte")
