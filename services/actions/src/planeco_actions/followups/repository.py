"""All SQL of the follow-up module."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action, ActionStatus
from planeco_actions.followups.models import ProgressUpdate
from planeco_actions.followups.schemas import OverdueFilters
from planeco_shared.archive import not_archived
from planeco_shared.scopes import visible

# Actions a reminder is for: chosen or under way (a proposal has no calendar yet; done or abandoned, none).
FOLLOWED = (ActionStatus.retenue, ActionStatus.en_cours)
# An action's updates, newest first: by date, then by when each was recorded, the id breaking ties.
NEWEST_FIRST = (ProgressUpdate.reported_on.desc(), ProgressUpdate.created_at.desc(), ProgressUpdate.id.desc())


class ProgressRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, update: ProgressUpdate) -> ProgressUpdate:
        self.session.add(update)
        await self.session.flush()
        return update

    async def get(self, action_id: uuid.UUID, update_id: uuid.UUID) -> ProgressUpdate | None:
        update = await self.session.get(ProgressUpdate, update_id)
        return update if update is not None and update.action_id == action_id else None

    def list_statement(self, action_id: uuid.UUID) -> Select[Any]:
        """An action's updates, `NEWEST_FIRST`."""
        return select(ProgressUpdate).where(ProgressUpdate.action_id == action_id).order_by(*NEWEST_FIRST)

    async def latest(self, action_ids: Select[uuid.UUID]) -> dict[uuid.UUID, ProgressUpdate]:
        """The latest update (the first in `list_statement`'s order) of each action `action_ids` selects
        that has one. A subquery, not a list of ids: one statement whatever the number of actions."""
        statement = (
            select(ProgressUpdate)
            .where(ProgressUpdate.action_id.in_(action_ids.scalar_subquery()))
            .order_by(ProgressUpdate.action_id, *NEWEST_FIRST)
        )
        latest: dict[uuid.UUID, ProgressUpdate] = {}
        for update in (await self.session.execute(statement)).scalars():
            latest.setdefault(update.action_id, update)
        return latest

    async def followed_actions(
        self, filters: OverdueFilters, *, regions: frozenset[str] | None
    ) -> Sequence[tuple[Action, dt.date | None]]:
        """The followed actions (not archived, `retenue` or `en_cours`) with their latest update's date."""
        last = (
            select(ProgressUpdate.action_id, func.max(ProgressUpdate.reported_on).label("last"))
            .group_by(ProgressUpdate.action_id)
            .subquery()
        )
        statement = (
            select(Action, last.c.last)
            .outerjoin(last, last.c.action_id == Action.id)
            .where(
                visible(Action.region_code, regions),
                not_archived(Action.archived_at, False),
                Action.status.in_(FOLLOWED),
            )
            .order_by(Action.id)
        )
        if filters.region is not None:
            statement = statement.where(Action.region_code == filters.region)
        if filters.departement is not None:
            statement = statement.where(Action.departement_code == filters.departement)
        rows = (await self.session.execute(statement)).all()
        return [(action, last_date) for action, last_date in rows]
