"""All SQL of the roadmaps module."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action, ActionStatus
from planeco_shared.archive import not_archived


class RoadmapRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def region_actions(
        self, region: str, *, published_only: bool, departement: str | None = None
    ) -> Sequence[Action]:
        """The région's actions that count in its roadmap (not archived, not abandoned), any territory in
        it (in `departement` only, when given: the département, its EPCI and communes); oldest first, the
        id breaking ties."""
        statement = select(Action).where(
            Action.region_code == region,
            Action.status != ActionStatus.abandonnee,
            not_archived(Action.archived_at, False),
        )
        if departement is not None:
            statement = statement.where(Action.departement_code == departement)
        if published_only:
            statement = statement.where(Action.published.is_(True))
        statement = statement.order_by(Action.created_at, Action.id)
        return (await self.session.execute(statement)).scalars().all()
