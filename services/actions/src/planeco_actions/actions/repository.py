"""All SQL of the actions module."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action
from planeco_actions.actions.schemas import ActionFilters
from planeco_actions.db import AuditEntry
from planeco_shared.archive import not_archived
from planeco_shared.history import history_statement
from planeco_shared.scopes import visible

ENTITY = "action"


def _has_key(column: Any, value: str) -> Any:
    """`column` ("|a|b|", see service._keys) holds `value`: LIKE with its wildcards escaped."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%|{escaped}|%", escape="\\")


class ActionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, action_id: uuid.UUID) -> Action | None:
        return await self.session.get(Action, action_id)

    async def by_external_id(self, level: str, code: str, external_id: str) -> Action | None:
        statement = select(Action).where(
            Action.territory_level == level, Action.territory_code == code, Action.external_id == external_id
        )
        return (await self.session.execute(statement)).scalars().first()

    def list_statement(
        self,
        filters: ActionFilters,
        *,
        regions: frozenset[str] | None,
        include_archived: bool,
        published_only: bool = False,
    ) -> Select[Any]:
        column = getattr(Action, filters.sort.value)
        order = column.desc() if filters.descending else column.asc()
        statement = (
            select(Action)
            .where(visible(Action.region_code, regions), not_archived(Action.archived_at, include_archived))
            .order_by(order, Action.id)
        )
        if published_only:
            statement = statement.where(Action.published.is_(True))
        if filters.region:
            statement = statement.where(Action.region_code.in_(filters.region))
        if filters.departement:
            statement = statement.where(Action.departement_code.in_(filters.departement))
        if filters.lever_id:
            statement = statement.where(
                or_(*(_has_key(Action.lever_keys, lever) for lever in filters.lever_id))
            )
        if filters.status:
            statement = statement.where(Action.status.in_(filters.status))
        return statement

    async def add(self, action: Action) -> Action:
        self.session.add(action)
        await self.session.flush()
        return action

    def history_statement(self, action_id: uuid.UUID) -> Select[Any]:
        return history_statement(AuditEntry, ENTITY, str(action_id))
