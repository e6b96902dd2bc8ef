"""actions: the COP action model (territory of any level, carriers and partners, criteria, calendar,
budget lines, documents, external id, published); existing rows become actions on their région, their
statuses take the French values, their years become dates, their carriers organisations of kind `autre`.

Revision ID: 2bbfa71505a1
Revises: 13c9870818a3
Create Date: 2026-12-02 06:05:19.389835
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
import datetime as dt
import unicodedata
from typing import Any

import planeco_shared.models

revision: str = "2bbfa71505a1"
down_revision: str | None = "13c9870818a3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


JSON = planeco_shared.models.PortableJSON
STATUSES = {
    "proposed": "proposee",
    "planned": "retenue",
    "in_progress": "en_cours",
    "done": "realisee",
    "abandoned": "abandonnee",
}
JSON_LISTS = ("other_lever_ids", "partners", "phases", "budget_lines", "documents")
TEXTS = ("territory_name", "lever_keys", "sector_keys", "carrier_keys", "search_text")
BOOLEANS = ("multi_acteurs", "structurante", "published")


def fold(text: str) -> str:
    """As planeco_actions.aids.parsing.fold (copied: a revision must not change when the code does)."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'").replace("œ", "oe").replace("Œ", "oe"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def keys(values: list[str]) -> str:
    unique = sorted({value for value in values if value})
    return f"|{'|'.join(unique)}|" if unique else ""


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        for name in JSON_LISTS:
            batch_op.add_column(sa.Column(name, JSON, nullable=True))
        batch_op.add_column(
            sa.Column(
                "territory_level",
                sa.Enum(
                    "region",
                    "departement",
                    "epci",
                    "crte",
                    "commune",
                    name="territorylevel",
                    native_enum=False,
                    length=12,
                ),
                nullable=True,
            )
        )
        batch_op.add_column(sa.Column("territory_code", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("territory_siren", sa.String(length=9), nullable=True))
        batch_op.add_column(sa.Column("departement_code", sa.String(length=3), nullable=True))
        batch_op.add_column(
            sa.Column(
                "nature",
                sa.Enum(
                    "nouvelle",
                    "amplifiee",
                    "acceleree",
                    "reorientee",
                    name="nature",
                    native_enum=False,
                    length=12,
                ),
                nullable=True,
            )
        )
        for name in BOOLEANS:
            batch_op.add_column(sa.Column(name, sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("territory_name", sa.String(length=300), nullable=True))
        for name in TEXTS[1:]:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("start_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("end_date", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))

    actions = sa.table(
        "actions",
        sa.column("id", sa.Uuid()),
        sa.column("title", sa.String()),
        sa.column("description", sa.Text()),
        sa.column("region_code", sa.String()),
        sa.column("lever_id", sa.String()),
        sa.column("carriers", JSON),
        sa.column("status", sa.String()),
        sa.column("start_year", sa.Integer()),
        sa.column("end_year", sa.Integer()),
        *(sa.column(name, JSON) for name in JSON_LISTS),
        *(sa.column(name, sa.Text()) for name in TEXTS),
        *(sa.column(name, sa.Boolean()) for name in BOOLEANS),
        sa.column("territory_level", sa.String()),
        sa.column("territory_code", sa.String()),
        sa.column("start_date", sa.Date()),
        sa.column("end_date", sa.Date()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(
            actions.c.id,
            actions.c.title,
            actions.c.description,
            actions.c.region_code,
            actions.c.lever_id,
            actions.c.carriers,
            actions.c.status,
            actions.c.start_year,
            actions.c.end_year,
        )
    ).all()
    for row in rows:
        carriers: list[dict[str, Any]] = [
            {"kind": "autre", "territory": None, "name": str(name), "role": ""} for name in row.carriers or []
        ]
        connection.execute(
            actions.update()
            .where(actions.c.id == row.id)
            .values(
                territory_level="region",
                territory_code=row.region_code,
                territory_name="",
                carriers=carriers,
                status=STATUSES.get(row.status, row.status),
                start_date=dt.date(row.start_year, 1, 1) if row.start_year else None,
                end_date=dt.date(row.end_year, 12, 31) if row.end_year else None,
                lever_keys=keys([row.lever_id or ""]),
                sector_keys="",
                carrier_keys=keys([fold(" ".join(c["name"].split())) for c in carriers]),
                search_text=fold(f"{row.title}\n{row.description}"),
                **{name: [] for name in JSON_LISTS},
                **{name: False for name in BOOLEANS},
            )
        )

    with op.batch_alter_table("actions", schema=None) as batch_op:
        for name in (*JSON_LISTS, *TEXTS, *BOOLEANS, "territory_level", "territory_code"):
            batch_op.alter_column(name, nullable=False)
        batch_op.create_index(batch_op.f("ix_actions_departement_code"), ["departement_code"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_end_date"), ["end_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_nature"), ["nature"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_published"), ["published"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_start_date"), ["start_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_actions_territory_code"), ["territory_code"], unique=False)
        batch_op.create_unique_constraint(
            "uq_actions_external_id", ["territory_level", "territory_code", "external_id"]
        )
        batch_op.drop_column("start_year")
        batch_op.drop_column("end_year")


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("end_year", sa.INTEGER(), nullable=True))
        batch_op.add_column(sa.Column("start_year", sa.INTEGER(), nullable=True))
        batch_op.drop_constraint("uq_actions_external_id", type_="unique")
        batch_op.drop_index(batch_op.f("ix_actions_territory_code"))
        batch_op.drop_index(batch_op.f("ix_actions_start_date"))
        batch_op.drop_index(batch_op.f("ix_actions_published"))
        batch_op.drop_index(batch_op.f("ix_actions_nature"))
        batch_op.drop_index(batch_op.f("ix_actions_end_date"))
        batch_op.drop_index(batch_op.f("ix_actions_departement_code"))
    actions = sa.table(
        "actions",
        sa.column("id", sa.Uuid()),
        sa.column("carriers", JSON),
        sa.column("status", sa.String()),
        sa.column("start_date", sa.Date()),
        sa.column("end_date", sa.Date()),
        sa.column("start_year", sa.Integer()),
        sa.column("end_year", sa.Integer()),
    )
    back = {new: old for old, new in STATUSES.items()}
    connection = op.get_bind()
    for row in connection.execute(
        sa.select(actions.c.id, actions.c.carriers, actions.c.status, actions.c.start_date, actions.c.end_date)
    ).all():
        connection.execute(
            actions.update()
            .where(actions.c.id == row.id)
            .values(
                carriers=[str(c.get("name", "")) for c in row.carriers or []],
                status=back.get(row.status, row.status),
                start_year=row.start_date.year if row.start_date else None,
                end_year=row.end_date.year if row.end_date else None,
            )
        )
    with op.batch_alter_table("actions", schema=None) as batch_op:
        for name in (
            *JSON_LISTS,
            *TEXTS,
            *BOOLEANS,
            "territory_level",
            "territory_code",
            "territory_siren",
            "departement_code",
            "nature",
            "start_date",
            "end_date",
            "external_id",
        ):
            batch_op.drop_column(name)
