"""All SQL of the actions module."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action, ActionStatus
from planeco_actions.actions.schemas import ActionSort
from planeco_actions.db import AuditEntry
from planeco_shared.history import history_statement

ENTITY = "action"


class ActionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, action_id: uuid.UUID) -> Action | None:
        return await self.session.get(Action, action_id)

    def list_statement(
        self,
        *,
        region: str | None,
        lever_id: str | None,
        status: ActionStatus | None,
        sort: ActionSort,
        descending: bool,
    ) -> Select[Any]:
        column = getattr(Action, sort.value)
        statement = select(Action).order_by(column.desc() if descending else column.asc(), Action.id)
        if region is not None:
            statement = statement.where(Action.region_code == region)
        if lever_id is not None:
            statement = statement.where(Action.lever_id == lever_id)
        if status is not None:
            statement = statement.where(Action.status == status)
        return statement

    async def add(self, action: Action) -> Action:
        self.session.add(action)
        await self.session.flush()
        return action

    def history_statement(self, action_id: uuid.UUID) -> Select[Any]:
        return history_statement(AuditEntry, ENTITY, str(action_id))
