"""All SQL of the roadmaps module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action, ActionStatus, TerritoryLevel
from planeco_shared.archive import not_archived

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


@dataclass(frozen=True, slots=True)
class RoadmapAction:
    """What a roadmap reads of an action, and only that: loading whole entities (carriers, budget lines,
    phases, documents, search keys, each JSON decoded, and the ORM's bookkeeping per object) for every
    action of a région was most of the roadmap's time. The field names are the `Action` columns'."""

    id: uuid.UUID
    title: str
    status: ActionStatus
    lever_id: str | None
    other_lever_ids: list[str]
    impacts: list[dict[str, Any]]
    territory_level: TerritoryLevel
    territory_code: str
    departement_code: str | None
    published: bool


@dataclass(frozen=True, slots=True)
class BudgetAction:
    """What a publication's budget table reads of an action (the `Action` columns' names)."""

    id: uuid.UUID
    title: str
    lever_id: str | None
    budget_lines: list[dict[str, Any]]


Row = TypeVar("Row", bound="DataclassInstance")


def _counted(region: str, *, published_only: bool, departement: str | None) -> list[ColumnElement[bool]]:
    """The région's actions that count in its roadmap (not archived, not abandoned), any territory in it
    (in `departement` only, when given: the département, its EPCI and communes)."""
    where = [
        Action.region_code == region,
        Action.status != ActionStatus.abandonnee,
        not_archived(Action.archived_at, False),
    ]
    if departement is not None:
        where.append(Action.departement_code == departement)
    if published_only:
        where.append(Action.published.is_(True))
    return where


class RoadmapRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def region_actions(
        self, region: str, *, published_only: bool, departement: str | None = None
    ) -> Sequence[Action]:
        """The actions that count (`_counted`), whole; oldest first, the id breaking ties."""
        statement = (
            select(Action)
            .where(*_counted(region, published_only=published_only, departement=departement))
            .order_by(Action.created_at, Action.id)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def roadmap_actions(
        self, region: str, *, published_only: bool, departement: str | None = None
    ) -> list[RoadmapAction]:
        return await self._rows(RoadmapAction, region, published_only=published_only, departement=departement)

    async def budget_actions(
        self, region: str, *, published_only: bool, departement: str | None = None
    ) -> list[BudgetAction]:
        return await self._rows(BudgetAction, region, published_only=published_only, departement=departement)

    async def _rows(
        self, row: type[Row], region: str, *, published_only: bool, departement: str | None
    ) -> list[Row]:
        """The actions that count (`_counted`), the columns `row` names only; in `region_actions`' order."""
        statement = (
            select(*(getattr(Action, field.name) for field in fields(row)))
            .where(*_counted(region, published_only=published_only, departement=departement))
            .order_by(Action.created_at, Action.id)
        )
        return [row(*values) for values in await self.session.execute(statement)]

    @staticmethod
    def counted_ids(
        region: str, *, published_only: bool, departement: str | None = None
    ) -> Select[uuid.UUID]:
        """The ids of the actions that count, as a subquery for their progress updates."""
        return select(Action.id).where(
            *_counted(region, published_only=published_only, departement=departement)
        )
