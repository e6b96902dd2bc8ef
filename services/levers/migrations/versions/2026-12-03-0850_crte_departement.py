"""CRTE: their département (`departement_code`), by the attachment rule within their région (the
département holding most of the population they cover; ties → lowest code), backfilled

Revision ID: 8b1e5c2d7f90
Revises: 2274f6715c14
Create Date: 2026-12-03 08:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8b1e5c2d7f90"
down_revision: str | None = "2274f6715c14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("crte", schema=None) as batch_op:
        batch_op.add_column(sa.Column("departement_code", sa.String(length=3), nullable=True))
        batch_op.create_index(batch_op.f("ix_crte_departement_code"), ["departement_code"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_crte_departement_code_departements"), "departements", ["departement_code"], ["code"]
        )
    # The communes a CRTE covers (its member communes and its member EPCI's), in its région: the
    # département with most of their population. One statement, the same on SQLite and PostgreSQL.
    op.execute(
        "UPDATE crte SET departement_code = ("
        "SELECT c.departement_code FROM communes c "
        "WHERE c.region_code = crte.region_code AND ("
        "c.code IN (SELECT m.commune_code FROM crte_members m WHERE m.crte_id = crte.id) "
        "OR c.epci_siren IN (SELECT m.epci_siren FROM crte_members m WHERE m.crte_id = crte.id)) "
        "GROUP BY c.departement_code ORDER BY sum(c.population) DESC, c.departement_code LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("crte", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_crte_departement_code_departements"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_crte_departement_code"))
        batch_op.drop_column("departement_code")
