"""All SQL of the levers module (the catalogue of each panorama version)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.levers.models import LeverGroup, LeverVersion, Sector
from planeco_levers.levers.schemas import LeverSort, Zone


class LeverRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def levers_statement(
        self,
        version: str,
        *,
        sector: str | None,
        group: str | None,
        zone: Zone | None,
        editable: bool | None,
        has_physical_unit: bool | None,
        sort: LeverSort,
    ) -> Select[Any]:
        statement = select(LeverVersion).where(LeverVersion.version_id == version)
        if sector is not None:
            statement = statement.where(LeverVersion.sector_id == sector)
        if group is not None:
            statement = statement.where(LeverVersion.group_id == group)
        if zone is Zone.metro:
            statement = statement.where(LeverVersion.in_mainland.is_(True))
        elif zone is Zone.drom:
            statement = statement.where(LeverVersion.in_overseas.is_(True))
        if editable is not None:
            statement = statement.where(LeverVersion.editable.is_(editable))
        if has_physical_unit is not None:
            statement = statement.where(LeverVersion.has_physical_unit.is_(has_physical_unit))
        order = {
            LeverSort.position: LeverVersion.position,
            LeverSort.id: LeverVersion.lever_id,
            LeverSort.name: LeverVersion.name,
        }[sort]
        return statement.order_by(order, LeverVersion.lever_id)

    async def get(self, version: str, lever_id: str) -> LeverVersion | None:
        return await self.session.get(LeverVersion, (version, lever_id))

    async def versions_of(self, lever_id: str) -> list[str]:
        rows = await self.session.execute(
            select(LeverVersion.version_id)
            .where(LeverVersion.lever_id == lever_id)
            .order_by(LeverVersion.version_id.desc())
        )
        return [row[0] for row in rows]

    async def sectors(self, version: str) -> list[tuple[Sector, int]]:
        count = func.count(LeverVersion.lever_id)
        rows = await self.session.execute(
            select(Sector, count)
            .join(LeverVersion, LeverVersion.sector_id == Sector.id)
            .where(LeverVersion.version_id == version)
            .group_by(Sector.id, Sector.label, Sector.position)
            .order_by(Sector.position, Sector.id)
        )
        return [(row[0], int(row[1])) for row in rows]

    async def groups(self, version: str) -> list[tuple[LeverGroup, int]]:
        count = func.count(LeverVersion.lever_id)
        rows = await self.session.execute(
            select(LeverGroup, count)
            .join(LeverVersion, LeverVersion.group_id == LeverGroup.id)
            .where(LeverVersion.version_id == version)
            .group_by(LeverGroup.id, LeverGroup.label, LeverGroup.position)
            .order_by(LeverGroup.position, LeverGroup.id)
        )
        return [(row[0], int(row[1])) for row in rows]
