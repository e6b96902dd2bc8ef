"""All SQL of the territories module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.territories.models import Departement, Region


class TerritoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def regions_statement(self) -> Select[Any]:
        departement_count = (
            select(func.count(Departement.code))
            .where(Departement.region_code == Region.code)
            .scalar_subquery()
        )
        return select(Region, departement_count.label("departement_count")).order_by(Region.code)

    async def list_regions(self) -> list[tuple[Region, int]]:
        rows = (await self.session.execute(self.regions_statement())).all()
        return [(row[0], int(row[1])) for row in rows]

    async def get_region(self, code: str) -> tuple[Region, int] | None:
        row = (await self.session.execute(self.regions_statement().where(Region.code == code))).first()
        return (row[0], int(row[1])) if row else None

    def departements_statement(self, *, region: str | None) -> Select[Any]:
        statement = select(Departement).order_by(Departement.code)
        if region is not None:
            statement = statement.where(Departement.region_code == region)
        return statement

    async def get_departement(self, code: str) -> Departement | None:
        return await self.session.get(Departement, code)
