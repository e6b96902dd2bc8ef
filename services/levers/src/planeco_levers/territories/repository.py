"""All SQL of the territories module."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from planeco_levers.db import Base
from planeco_levers.territories.models import (
    Commune,
    Crte,
    CrteMember,
    Departement,
    Epci,
    EpciNature,
    Ept,
    Region,
)
from planeco_levers.territories.search import code_prefix, name_matches, name_rank, normalize

# Bound parameters per IN (…): far below SQLite's limit.
IN_BATCH = 1000
M = TypeVar("M", bound=Base)


class TerritoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def count_by(self, column: InstrumentedAttribute[Any], keys: Collection[str]) -> dict[str, int]:
        """Rows per value of `column`, for the given values (those without rows are absent)."""
        if not keys:
            return {}
        statement = select(column, func.count()).where(column.in_(list(keys))).group_by(column)
        return {key: int(count) for key, count in (await self.session.execute(statement)).all()}

    async def count_children(
        self, columns: Mapping[str, InstrumentedAttribute[Any]], keys: Collection[str]
    ) -> dict[str, dict[str, int]]:
        """`count_by` for several child tables in one round trip (UNION ALL): {name: {key: rows}}."""
        counts: dict[str, dict[str, int]] = {name: {} for name in columns}
        if not keys:
            return counts
        parts = [
            select(literal(name).label("kind"), column.label("key"), func.count().label("rows"))
            .where(column.in_(list(keys)))
            .group_by(column)
            for name, column in columns.items()
        ]
        for kind, key, rows in (await self.session.execute(union_all(*parts))).all():
            counts[kind][key] = int(rows)
        return counts

    # régions and départements

    def regions_statement(self) -> Select[Any]:
        return select(Region).order_by(Region.code)

    async def get_region(self, code: str) -> Region | None:
        return await self.session.get(Region, code)

    async def region_names(self) -> dict[str, str]:
        rows = await self.session.execute(select(Region.code, Region.name))
        return {code: name for code, name in rows}  # noqa: C416 (rows are Row objects, not pairs to mypy)

    def departements_statement(self, *, region: str | None) -> Select[Any]:
        statement = select(Departement).order_by(Departement.code)
        if region is not None:
            statement = statement.where(Departement.region_code == region)
        return statement

    async def get_departement(self, code: str) -> Departement | None:
        return await self.session.get(Departement, code)

    # EPCI and EPT

    def epcis_statement(
        self, *, region: str | None, departement: str | None, nature: EpciNature | None, q: str | None
    ) -> Select[Any]:
        statement = select(Epci)
        if region is not None:
            statement = statement.where(Epci.region_code == region)
        if departement is not None:
            statement = statement.where(Epci.departement_code == departement)
        if nature is not None:
            statement = statement.where(Epci.nature == nature.value)
        return _searched(statement, q, code=Epci.siren, name_search=Epci.name_search, weight=Epci.population)

    async def get_epci(self, siren: str) -> Epci | None:
        return await self.session.get(Epci, siren)

    def epts_statement(self, *, departement: str | None) -> Select[Any]:
        statement = select(Ept).order_by(Ept.siren)
        if departement is not None:
            statement = statement.where(Ept.departement_code == departement)
        return statement

    async def get_ept(self, siren: str) -> Ept | None:
        return await self.session.get(Ept, siren)

    async def communes_of(self, column: InstrumentedAttribute[str | None], key: str) -> Sequence[Commune]:
        statement = select(Commune).where(column == key).order_by(Commune.code)
        return (await self.session.execute(statement)).scalars().all()

    # communes

    def communes_statement(
        self, *, region: str | None, departement: str | None, epci: str | None, q: str | None
    ) -> Select[Any]:
        statement = select(Commune)
        if region is not None:
            statement = statement.where(Commune.region_code == region)
        if departement is not None:
            statement = statement.where(Commune.departement_code == departement)
        if epci is not None:
            statement = statement.where(Commune.epci_siren == epci)
        return _searched(
            statement, q, code=Commune.code, name_search=Commune.name_search, weight=Commune.population
        )

    async def get_commune(self, code: str) -> Commune | None:
        return await self.session.get(Commune, code)

    async def commune_by_siren(self, siren: str) -> Commune | None:
        result = await self.session.scalars(select(Commune).where(Commune.siren == siren).limit(1))
        return result.first()

    async def communes_by_code(self, codes: Collection[str]) -> dict[str, Commune]:
        return {c.code: c for c in await self._where_in(Commune, Commune.code, codes)}

    async def epcis_by_siren(self, sirens: Collection[str]) -> dict[str, Epci]:
        return {e.siren: e for e in await self._where_in(Epci, Epci.siren, sirens)}

    async def communes_of_epcis(self, sirens: Collection[str]) -> list[Commune]:
        return await self._where_in(Commune, Commune.epci_siren, sirens)

    async def _where_in(
        self, model: type[M], column: InstrumentedAttribute[Any], keys: Collection[str]
    ) -> list[M]:
        """Rows of `model` whose `column` is one of `keys`, fetched by batches of IN (…)."""
        found: list[M] = []
        ordered = sorted(keys)
        for start in range(0, len(ordered), IN_BATCH):
            statement = select(model).where(column.in_(ordered[start : start + IN_BATCH]))
            found.extend((await self.session.execute(statement)).scalars())
        return found

    # CRTE

    def crtes_statement(self, *, region: str | None) -> Select[Any]:
        statement = select(Crte).order_by(Crte.id)
        if region is not None:
            statement = statement.where(Crte.region_code == region)
        return statement

    async def get_crte(self, crte_id: str) -> Crte | None:
        return await self.session.get(Crte, crte_id)

    async def crtes(self, *, regions: Collection[str] | None = None) -> Sequence[Crte]:
        statement = select(Crte).order_by(Crte.id)
        if regions is not None:
            statement = statement.where(Crte.region_code.in_(list(regions)))
        return (await self.session.execute(statement)).scalars().all()

    async def crte_members(self, crte_ids: Collection[str]) -> Sequence[CrteMember]:
        statement = (
            select(CrteMember)
            .where(CrteMember.crte_id.in_(list(crte_ids)))
            .order_by(CrteMember.crte_id, CrteMember.epci_siren, CrteMember.commune_code)
        )
        return (await self.session.execute(statement)).scalars().all()

    async def crte_covered_communes(
        self, crte_ids: Collection[str] | None = None
    ) -> list[tuple[str, Commune]]:
        """(CRTE id, commune) for every commune a CRTE covers, directly or through a member EPCI."""
        direct = select(CrteMember.crte_id, Commune.code).join(
            Commune, Commune.code == CrteMember.commune_code
        )
        through_epci = select(CrteMember.crte_id, Commune.code).join(
            Commune, Commune.epci_siren == CrteMember.epci_siren
        )
        if crte_ids is not None:
            direct = direct.where(CrteMember.crte_id.in_(list(crte_ids)))
            through_epci = through_epci.where(CrteMember.crte_id.in_(list(crte_ids)))
        covered = union_all(direct, through_epci).subquery()
        statement = select(covered.c.crte_id, Commune).join(Commune, Commune.code == covered.c.code)
        return [(crte_id, commune) for crte_id, commune in (await self.session.execute(statement)).all()]

    async def delete_crtes(self, crte_ids: Collection[str]) -> None:
        if crte_ids:
            await self.session.execute(delete(CrteMember).where(CrteMember.crte_id.in_(list(crte_ids))))
            await self.session.execute(delete(Crte).where(Crte.id.in_(list(crte_ids))))


def _searched(
    statement: Select[Any],
    q: str | None,
    *,
    code: InstrumentedAttribute[str],
    name_search: InstrumentedAttribute[str],
    weight: InstrumentedAttribute[int],
) -> Select[Any]:
    """Filter by `q` (a code prefix, or words of the name) and order: best match, most populated, code."""
    if q is None:
        return statement.order_by(code)
    prefix = code_prefix(q)
    if prefix is not None:
        return statement.where(code.like(f"{prefix}%")).order_by(code)
    normalized = normalize(q)
    return statement.where(name_matches(name_search, normalized)).order_by(
        name_rank(name_search, normalized), weight.desc(), code
    )
