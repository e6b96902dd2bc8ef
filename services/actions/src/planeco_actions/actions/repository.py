"""All SQL of the actions module."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action
from planeco_actions.actions.schemas import ActionFilters
from planeco_actions.aids.models import Aid
from planeco_actions.aids.parsing import fold
from planeco_actions.db import AuditEntry
from planeco_shared.archive import not_archived
from planeco_shared.history import history_statement
from planeco_shared.scopes import visible

ENTITY = "action"


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _has_key(column: Any, value: str) -> Any:
    """`column` ("|a|b|", see service._keys) holds `value`: LIKE with its wildcards escaped."""
    return column.like(f"%|{_escaped(value)}|%", escape="\\")


def carrier_key(value: str) -> str:
    """A carrier filter as the keys store it: a name folded (service.actor_key); a code stays as is."""
    return fold(" ".join(value.split()))


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
        # Empty values last in both directions, on both databases (SQLite and PostgreSQL disagree on
        # where NULLs go by default); the id breaks ties, so that pages never overlap.
        order = (column.desc() if filters.descending else column.asc()).nulls_last()
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
        if filters.territory:
            pairs = [value.split(":", 1) for value in filters.territory]
            statement = statement.where(
                or_(
                    *(
                        and_(Action.territory_level == lvl, Action.territory_code == code)
                        for lvl, code in pairs
                    )
                )
            )
        if filters.sector:
            statement = statement.where(
                or_(*(_has_key(Action.sector_keys, sector) for sector in filters.sector))
            )
        if filters.carrier:
            keys = {value.strip() for value in filters.carrier} | {carrier_key(v) for v in filters.carrier}
            statement = statement.where(or_(*(_has_key(Action.carrier_keys, key) for key in sorted(keys))))
        if filters.nature:
            statement = statement.where(Action.nature.in_(filters.nature))
        if filters.multi_acteurs is not None:
            statement = statement.where(Action.multi_acteurs.is_(filters.multi_acteurs))
        if filters.structurante is not None:
            statement = statement.where(Action.structurante.is_(filters.structurante))
        if filters.year is not None:
            first, last = dt.date(filters.year, 1, 1), dt.date(filters.year, 12, 31)
            # The calendar overlaps the year; a missing date leaves its side open, but a calendar needs one.
            statement = statement.where(
                or_(Action.start_date.is_not(None), Action.end_date.is_not(None)),
                or_(Action.start_date.is_(None), Action.start_date <= last),
                or_(Action.end_date.is_(None), Action.end_date >= first),
            )
        for word in fold(filters.q or "").split():
            statement = statement.where(Action.search_text.like(f"%{_escaped(word)}%", escape="\\"))
        return statement

    async def known_aid_ids(self, aid_ids: Collection[int]) -> set[int]:
        """Which of these ids the aids catalogue holds (live or not)."""
        if not aid_ids:
            return set()
        return set(await self.session.scalars(select(Aid.id).where(Aid.id.in_(sorted(aid_ids)))))

    async def add(self, action: Action) -> Action:
        self.session.add(action)
        await self.session.flush()
        return action

    def history_statement(self, action_id: uuid.UUID) -> Select[Any]:
        return history_statement(AuditEntry, ENTITY, str(action_id))
