"""All SQL of the support measures module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.db import AuditEntry
from planeco_actions.support.models import SupportMeasure
from planeco_actions.support.schemas import SupportFilters
from planeco_shared.archive import not_archived
from planeco_shared.history import history_statement

ENTITY = "support_measure"


def barred(values: list[str]) -> str:
    """['a', 'b'] → '|a|b|': one LIKE '%|a|%' finds a value on both databases."""
    return "|" + "|".join(values) + "|" if values else ""


class SupportMeasureRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, measure_id: uuid.UUID) -> SupportMeasure | None:
        return await self.session.get(SupportMeasure, measure_id)

    async def of_owner(self, owner_key: str) -> dict[str, SupportMeasure]:
        """Every measure of the owner's catalogue, archived ones included, by key."""
        rows = await self.session.scalars(select(SupportMeasure).where(SupportMeasure.owner_key == owner_key))
        return {measure.key: measure for measure in rows}

    def list_statement(self, filters: SupportFilters, *, include_archived: bool) -> Select[Any]:
        statement = (
            select(SupportMeasure)
            .where(not_archived(SupportMeasure.archived_at, include_archived))
            .order_by(SupportMeasure.owner_level, SupportMeasure.owner_code, SupportMeasure.key)
        )
        for column, values in (
            (SupportMeasure.lever_index, filters.lever_id),
            (SupportMeasure.support_type_index, filters.support_type),
            (SupportMeasure.audience_index, filters.audience),
        ):
            if values:  # `_` is a LIKE wildcard and is in lever ids: escaped
                statement = statement.where(
                    or_(*(column.contains(f"|{value}|", autoescape=True) for value in values))
                )
        if filters.owner is not None:
            statement = statement.where(SupportMeasure.owner_key == filters.owner)
        return statement

    async def in_force_for(self, lever_ids: Sequence[str], owner_keys: Sequence[str]) -> list[SupportMeasure]:
        """The measures in force of these owners' catalogues that serve any of these levers."""
        if not lever_ids or not owner_keys:
            return []
        rows = await self.session.scalars(
            select(SupportMeasure)
            .where(
                SupportMeasure.archived_at.is_(None),
                SupportMeasure.owner_key.in_(list(owner_keys)),
                or_(
                    *(
                        SupportMeasure.lever_index.contains(f"|{lever}|", autoescape=True)
                        for lever in lever_ids
                    )
                ),
            )
            .order_by(SupportMeasure.owner_key, SupportMeasure.key)
        )
        return list(rows)

    def history_statement(self, measure_id: uuid.UUID) -> Select[Any]:
        return history_statement(AuditEntry, ENTITY, str(measure_id))
