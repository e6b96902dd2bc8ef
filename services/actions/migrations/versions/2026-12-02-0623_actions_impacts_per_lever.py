"""actions: expected impact per lever (`impacts`); an existing impact in ktCO2e becomes the impact of the
action's lever, with no panorama version yet (a recompute converts it); one without a lever stays the total.

Revision ID: e28b90fb5727
Revises: 2bbfa71505a1
Create Date: 2026-12-02 06:23:27.102238
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import planeco_shared.models

revision: str = "e28b90fb5727"
down_revision: str | None = "2bbfa71505a1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = planeco_shared.models.PortableJSON


def upgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("impacts", JSON, nullable=True))
    actions = sa.table(
        "actions",
        sa.column("id", sa.Uuid()),
        sa.column("lever_id", sa.String()),
        sa.column("expected_impact_ktco2e", sa.Numeric(14, 4)),
        sa.column("impacts", JSON),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(actions.c.id, actions.c.lever_id, actions.c.expected_impact_ktco2e)
    ).all()
    for row in rows:
        impacts = []
        if row.lever_id and row.expected_impact_ktco2e is not None:
            impacts = [
                {
                    "lever_id": row.lever_id,
                    "entered": "ktco2e",
                    "ktco2e": str(row.expected_impact_ktco2e),
                    "physical": None,
                    "unit": None,
                    "version": None,
                    "ratio": None,
                }
            ]
        connection.execute(actions.update().where(actions.c.id == row.id).values(impacts=impacts))
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.alter_column("impacts", nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("actions", schema=None) as batch_op:
        batch_op.drop_column("impacts")
