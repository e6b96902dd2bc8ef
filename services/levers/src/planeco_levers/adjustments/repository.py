"""All SQL of the adjustments module."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.adjustments.models import RegionAdjustment
from planeco_levers.db import AuditEntry
from planeco_shared.history import history_statement

ENTITY_TYPE = "region_adjustment"


def entity_id(region_code: str, lever_id: str) -> str:
    return f"{region_code}/{lever_id}"


class AdjustmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, region_code: str, lever_id: str) -> RegionAdjustment | None:
        """The row, active or withdrawn."""
        return await self.session.get(RegionAdjustment, (region_code, lever_id))

    def active_statement(self, region_code: str) -> Select[Any]:
        return (
            select(RegionAdjustment)
            .where(RegionAdjustment.region_code == region_code, RegionAdjustment.active.is_(True))
            .order_by(RegionAdjustment.lever_id)
        )

    async def active_of_region(self, region_code: str) -> dict[str, RegionAdjustment]:
        """Every active adjustment of the région, by lever id: one query."""
        rows = (await self.session.execute(self.active_statement(region_code))).scalars()
        return {row.lever_id: row for row in rows}

    async def add(self, adjustment: RegionAdjustment) -> None:
        self.session.add(adjustment)
        await self.session.flush()

    def history_statement(self, region_code: str, lever_id: str) -> Select[Any]:
        return history_statement(AuditEntry, ENTITY_TYPE, entity_id(region_code, lever_id))
