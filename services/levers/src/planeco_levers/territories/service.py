"""Territory reads: the official INSEE codes are the keys."""

from __future__ import annotations

from planeco_shared.pagination import Page, PageParams, paginate
from planeco_shared.problems import NotFound
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.territories.models import Departement
from planeco_levers.territories.repository import TerritoryRepository
from planeco_levers.territories.schemas import DepartementRead, RegionRead


async def list_regions(session: AsyncSession) -> list[RegionRead]:
    return [
        RegionRead.model_validate({**_columns(region), "departement_count": count})
        for region, count in await TerritoryRepository(session).list_regions()
    ]


async def get_region(session: AsyncSession, code: str) -> RegionRead:
    found = await TerritoryRepository(session).get_region(code)
    if found is None:
        raise NotFound(f"No région with INSEE code {code!r}")
    region, count = found
    return RegionRead.model_validate({**_columns(region), "departement_count": count})


async def list_departements(
    session: AsyncSession, *, region: str | None, params: PageParams
) -> Page[DepartementRead]:
    rows, total = await paginate(
        session, TerritoryRepository(session).departements_statement(region=region), params
    )
    return Page(
        items=[_departement(d) for d in rows], total=total, page=params.page, page_size=params.page_size
    )


async def get_departement(session: AsyncSession, code: str) -> DepartementRead:
    departement = await TerritoryRepository(session).get_departement(code)
    if departement is None:
        raise NotFound(f"No département with INSEE code {code!r}")
    return _departement(departement)


def _departement(d: Departement) -> DepartementRead:
    return DepartementRead(
        code=d.code,
        name=d.name,
        region=d.region_code,
        chef_lieu=d.chef_lieu,
        zone=d.zone,
        population=d.population,
    )


def _columns(obj: object) -> dict[str, object]:
    table = obj.__table__  # type: ignore[attr-defined]
    return {column.key: getattr(obj, column.key) for column in table.columns}
