"""All SQL of the declination module: a declination is a handful of queries whatever the number of levers."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import Decimal
from typing import Any, TypeAlias

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.adjustments.models import RegionAdjustment
from planeco_levers.declination.models import DeclinationKey, DeclinationKeyValue, DeclinationLevel
from planeco_levers.levers.models import Sector
from planeco_levers.panoramas.models import PanoramaObjective, PanoramaVersion
from planeco_levers.territories.models import Crte, Departement, Epci, Region

ObjectiveRow: TypeAlias = Row[*tuple[Any, ...]]
Child: TypeAlias = tuple[str, str, int]  # (code, name, population)


class DeclinationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_version(self, version: str) -> PanoramaVersion | None:
        return await self.session.get(PanoramaVersion, version)

    async def get_region(self, code: str) -> Region | None:
        return await self.session.get(Region, code)

    async def objectives(self, version: str, region: str) -> Sequence[ObjectiveRow]:
        """Every lever of the version in the région, with its sector label, in the file's order."""
        statement = (
            select(
                PanoramaObjective.lever_id,
                PanoramaObjective.name,
                PanoramaObjective.sector_id,
                Sector.label.label("sector_label"),
                PanoramaObjective.objective_ktco2e,
                PanoramaObjective.ratio,
                PanoramaObjective.start_2019,
                PanoramaObjective.unit_physical,
                PanoramaObjective.has_physical_unit,
            )
            .join(Sector, Sector.id == PanoramaObjective.sector_id)
            .where(PanoramaObjective.version_id == version, PanoramaObjective.region_code == region)
            .order_by(PanoramaObjective.row_index, PanoramaObjective.lever_id)
        )
        return (await self.session.execute(statement)).all()

    async def lever_in_region(self, region: str, lever_id: str) -> str | None:
        """The lever's name in the région's latest version that has it; None if no version has it there."""
        statement = (
            select(PanoramaObjective.name)
            .where(PanoramaObjective.region_code == region, PanoramaObjective.lever_id == lever_id)
            .order_by(PanoramaObjective.version_id.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def children(self, region: str, level: DeclinationLevel) -> list[Child]:
        """(code, name, population) of the région's départements, attached EPCI or CRTE, by code."""
        if level is DeclinationLevel.departement:
            statement = (
                select(Departement.code, Departement.name, Departement.population)
                .where(Departement.region_code == region)
                .order_by(Departement.code)
            )
        elif level is DeclinationLevel.epci:
            statement = (
                select(Epci.siren, Epci.name, Epci.population)
                .where(Epci.region_code == region)
                .order_by(Epci.siren)
            )
        else:
            statement = (
                select(Crte.id, Crte.name, Crte.population)
                .where(Crte.region_code == region)
                .order_by(Crte.id)
            )
        return [
            (code, name, int(population)) for code, name, population in await self.session.execute(statement)
        ]

    async def territory_regions(self, level: DeclinationLevel, codes: Collection[str]) -> dict[str, str]:
        """Région of each known département / EPCI among `codes` (foreign codes vs unknown ones)."""
        if not codes:
            return {}
        if level is DeclinationLevel.departement:
            statement = select(Departement.code, Departement.region_code).where(
                Departement.code.in_(list(codes))
            )
        else:
            statement = select(Epci.siren, Epci.region_code).where(Epci.siren.in_(list(codes)))
        return {str(code): str(region) for code, region in await self.session.execute(statement)}

    async def active_adjustments(self, region: str) -> dict[str, RegionAdjustment]:
        """The région's own objectives (adjustments module), by lever id: one query."""
        statement = select(RegionAdjustment).where(
            RegionAdjustment.region_code == region, RegionAdjustment.active.is_(True)
        )
        return {row.lever_id: row for row in (await self.session.execute(statement)).scalars()}

    # keys

    async def keys(self, region: str, level: DeclinationLevel | None = None) -> list[DeclinationKey]:
        statement = select(DeclinationKey).where(DeclinationKey.region_code == region)
        if level is not None:
            statement = statement.where(DeclinationKey.level == level.value)
        statement = statement.order_by(DeclinationKey.lever_id, DeclinationKey.level)
        return list((await self.session.execute(statement)).scalars())

    async def key_values(
        self, region: str, level: DeclinationLevel, lever_id: str | None = None
    ) -> dict[str, dict[str, Decimal]]:
        """{lever id: {code: value}} of the région's keys at this level (one query)."""
        statement = select(
            DeclinationKeyValue.lever_id, DeclinationKeyValue.code, DeclinationKeyValue.value
        ).where(DeclinationKeyValue.region_code == region, DeclinationKeyValue.level == level.value)
        if lever_id is not None:
            statement = statement.where(DeclinationKeyValue.lever_id == lever_id)
        values: dict[str, dict[str, Decimal]] = {}
        for lever, code, value in await self.session.execute(statement.order_by(DeclinationKeyValue.code)):
            values.setdefault(lever, {})[code] = Decimal(value)
        return values

    async def get_key(self, region: str, lever_id: str, level: DeclinationLevel) -> DeclinationKey | None:
        return await self.session.get(DeclinationKey, (region, lever_id, level.value))

    async def add_key(self, key: DeclinationKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def replace_values(
        self, region: str, lever_id: str, level: DeclinationLevel, values: dict[str, Decimal]
    ) -> None:
        await self.delete_values(region, lever_id, level)
        rows = [
            {"region_code": region, "lever_id": lever_id, "level": level.value, "code": code, "value": value}
            for code, value in values.items()
        ]
        if rows:
            await self.session.execute(insert(DeclinationKeyValue), rows)

    async def delete_values(self, region: str, lever_id: str, level: DeclinationLevel) -> None:
        await self.session.execute(
            delete(DeclinationKeyValue).where(
                DeclinationKeyValue.region_code == region,
                DeclinationKeyValue.lever_id == lever_id,
                DeclinationKeyValue.level == level.value,
            )
        )

    async def delete_key(self, key: DeclinationKey) -> None:
        await self.delete_values(key.region_code, key.lever_id, DeclinationLevel(key.level))
        await self.session.delete(key)
        await self.session.flush()
