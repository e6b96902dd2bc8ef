"""response answers in rows (the synthesis's GROUP BYs), backfilled from the responses' answers

Revision ID: 34d5cbb89a32
Revises: 27820b2a1277
Create Date: 2026-12-02 10:01:07.244804
"""

import json
import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import planeco_shared.models  # noqa: F401 (used by some revisions)

revision: str = "34d5cbb89a32"
down_revision: str | None = "27820b2a1277"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As planeco_diagnostic.syntheses.models.NEED_BITS on this day (copied: a revision never imports the app).
NEED_BITS = {
    "ingenierie": 1,
    "financement": 2,
    "donnees": 4,
    "formation": 8,
    "reglementation": 16,
    "autre": 32,
}


def _loaded(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _backfill() -> None:
    """One row per action answer × lever of every existing response (as `_save` writes them)."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT r.invitee_id, r.campaign_id, r.answers, q.sections FROM responses r "
            "JOIN campaigns c ON c.id = r.campaign_id JOIN questionnaires q ON q.id = c.questionnaire_id"
        )
    ).all()
    table = sa.table(
        "response_answers",
        sa.column("invitee_id", sa.Uuid()),
        sa.column("item_key", sa.String()),
        sa.column("lever_id", sa.String()),
        sa.column("campaign_id", sa.Uuid()),
        sa.column("lever_rank", sa.Integer()),
        sa.column("pertinence", sa.String()),
        sa.column("mobilisation", sa.String()),
        sa.column("needs", sa.Integer()),
        sa.column("quantity", sa.String()),
    )
    for invitee_id, campaign_id, answers, sections in rows:
        levers: dict[str, list[str]] = {}
        for section in _loaded(sections) or []:
            for item in section.get("items", []):
                if item.get("kind") == "action":
                    levers[item["key"]] = item.get("lever_ids") or section.get("lever_ids") or []
        values = []
        for key, answer in (_loaded(answers) or {}).items():
            if key not in levers or not isinstance(answer, dict):
                continue
            for rank, lever_id in enumerate(levers[key]):
                values.append(
                    {
                        "invitee_id": invitee_id if not isinstance(invitee_id, str) else _uuid(invitee_id),
                        "item_key": key,
                        "lever_id": lever_id,
                        "campaign_id": campaign_id if not isinstance(campaign_id, str) else _uuid(campaign_id),
                        "lever_rank": rank,
                        "pertinence": answer.get("pertinence"),
                        "mobilisation": answer.get("mobilisation"),
                        "needs": sum(NEED_BITS.get(n, 0) for n in answer.get("needs", [])),
                        "quantity": answer.get("lever_quantity") if rank == 0 else None,
                    }
                )
        if values:
            connection.execute(table.insert(), values)


def _uuid(text: str) -> uuid.UUID:
    return uuid.UUID(text)


def upgrade() -> None:
    op.create_table(
        "response_answers",
        sa.Column("invitee_id", sa.Uuid(), nullable=False),
        sa.Column("item_key", sa.String(length=60), nullable=False),
        sa.Column("lever_id", sa.String(length=60), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("lever_rank", sa.Integer(), nullable=False),
        sa.Column("pertinence", sa.String(length=20), nullable=True),
        sa.Column("mobilisation", sa.String(length=20), nullable=True),
        sa.Column("needs", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaigns.id"], name=op.f("fk_response_answers_campaign_id_campaigns")
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"], ["responses.invitee_id"], name=op.f("fk_response_answers_invitee_id_responses")
        ),
        sa.PrimaryKeyConstraint("invitee_id", "item_key", "lever_id", name=op.f("pk_response_answers")),
    )
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.create_index(
            "ix_response_answers_campaign_rank", ["campaign_id", "lever_rank"], unique=False
        )
    _backfill()


def downgrade() -> None:
    with op.batch_alter_table("response_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_response_answers_campaign_rank")

    op.drop_table("response_answers")
