"""contacts: the people the diagnostic writes to, per collectivité (planeco_diagnostic.contacts)

Revision ID: 122152c32688
Revises: 8a7b8ec9baad
Create Date: 2026-12-02 06:16:11.686564
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "122152c32688"
down_revision: str | None = "8a7b8ec9baad"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contacts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "level",
            sa.Enum(
                "region",
                "departement",
                "epci",
                "commune",
                name="contactlevel",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=9), nullable=False),
        sa.Column("collectivite_name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=3), nullable=False),
        sa.Column("departement_code", sa.String(length=3), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("function", sa.String(length=200), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            planeco_shared.models.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            planeco_shared.models.UTCDateTime(timezone=True),
            server_default=sa.text("(CURRENT_TIMESTAMP)"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("level", "code", "email", name="uq_contacts_collectivite_email"),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_departement_code"), ["departement_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_contacts_region_code"), ["region_code"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_region_code"))
        batch_op.drop_index(batch_op.f("ix_contacts_departement_code"))

    op.drop_table("contacts")
