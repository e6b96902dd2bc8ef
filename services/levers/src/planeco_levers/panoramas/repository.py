"""All SQL of the panoramas module."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import Row, Select, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.levers.models import LeverGroup, LeverVersion, Sector
from planeco_levers.levers.vocabulary import Term
from planeco_levers.panoramas.models import PanoramaObjective, PanoramaVersion
from planeco_shared.upsert import upsert

FigureRow: TypeAlias = Row[*tuple[Any, ...]]

# The columns the figure reads need (not the long texts).
FIGURE_COLUMNS = (
    PanoramaObjective.lever_id,
    PanoramaObjective.region_code,
    PanoramaObjective.region_name_source,
    PanoramaObjective.name,
    PanoramaObjective.sector_id,
    PanoramaObjective.group_id,
    PanoramaObjective.objective_ktco2e,
    PanoramaObjective.ratio,
    PanoramaObjective.start_2019,
    PanoramaObjective.unit_physical,
    PanoramaObjective.unit_co2,
    PanoramaObjective.has_physical_unit,
    PanoramaObjective.editable,
    PanoramaObjective.show_target,
    PanoramaObjective.region_enabled,
    PanoramaObjective.region_locked,
    PanoramaObjective.region_hidden,
    PanoramaObjective.region_limited,
)


class PanoramaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # versions

    def versions_statement(self) -> Select[Any]:
        return select(PanoramaVersion).order_by(PanoramaVersion.id.desc())

    async def get_version(self, version: str) -> PanoramaVersion | None:
        return await self.session.get(PanoramaVersion, version)

    async def latest_version_id(self) -> str | None:
        value = (await self.session.execute(select(func.max(PanoramaVersion.id)))).scalar_one_or_none()
        return str(value) if value is not None else None

    async def delete_version(self, version: str) -> None:
        """Its objectives, its levers, then the version (explicitly: no reliance on cascades)."""
        await self.session.execute(delete(PanoramaObjective).where(PanoramaObjective.version_id == version))
        await self.session.execute(delete(LeverVersion).where(LeverVersion.version_id == version))
        await self.session.execute(delete(PanoramaVersion).where(PanoramaVersion.id == version))

    # writes of an import

    async def upsert_terms(
        self, sectors: Sequence[Term], groups: Sequence[Term], positions: dict[str, int]
    ) -> None:
        await upsert(
            self.session,
            Sector,
            [{"id": t.id, "label": t.label, "position": positions[t.id]} for t in sectors],
            key=["id"],
        )
        await upsert(
            self.session,
            LeverGroup,
            [{"id": t.id, "label": t.label, "position": positions[t.id]} for t in groups],
            key=["id"],
        )

    async def add_version(self, values: dict[str, Any]) -> None:
        self.session.add(PanoramaVersion(**values))
        await self.session.flush()

    async def add_rows(
        self, model: type[LeverVersion] | type[PanoramaObjective], rows: list[dict[str, Any]]
    ) -> None:
        if rows:
            await self.session.execute(insert(model), rows)

    # reads

    async def sector_labels(self) -> dict[str, tuple[str, int]]:
        rows = (await self.session.execute(select(Sector.id, Sector.label, Sector.position))).all()
        return {row[0]: (row[1], row[2]) for row in rows}

    async def group_labels(self) -> dict[str, str]:
        rows = (await self.session.execute(select(LeverGroup.id, LeverGroup.label))).all()
        return {row[0]: row[1] for row in rows}

    async def figures(self, version: str, *, region: str | None = None) -> Sequence[FigureRow]:
        """Figure columns of a version's objectives (one région's, or all), in the file's row order."""
        statement = (
            select(*FIGURE_COLUMNS)
            .where(PanoramaObjective.version_id == version)
            .order_by(PanoramaObjective.row_index, PanoramaObjective.lever_id, PanoramaObjective.region_code)
        )
        if region is not None:
            statement = statement.where(PanoramaObjective.region_code == region)
        return (await self.session.execute(statement)).all()

    async def get_objective(self, version: str, lever_id: str, region: str) -> PanoramaObjective | None:
        return await self.session.get(PanoramaObjective, (version, lever_id, region))

    async def levers_of_version(self, version: str) -> dict[str, LeverVersion]:
        rows = (
            await self.session.execute(
                select(LeverVersion).where(LeverVersion.version_id == version).order_by(LeverVersion.position)
            )
        ).scalars()
        return {lever.lever_id: lever for lever in rows}

    async def region_codes_of_version(self, version: str) -> set[str]:
        rows = await self.session.execute(
            select(PanoramaObjective.region_code).where(PanoramaObjective.version_id == version).distinct()
        )
        return {row[0] for row in rows}

    async def region_codes_of_lever(self, version: str, lever_id: str) -> list[str]:
        rows = await self.session.execute(
            select(PanoramaObjective.region_code).where(
                PanoramaObjective.version_id == version, PanoramaObjective.lever_id == lever_id
            )
        )
        return [row[0] for row in rows]
