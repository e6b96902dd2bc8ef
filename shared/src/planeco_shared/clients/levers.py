"""Typed client of the levers service (territories, lever catalogue, conversions)."""

from __future__ import annotations

from decimal import Decimal

from planeco_shared.clients.base import ClientModel, ServiceClient
from planeco_shared.identity import Principal


class Region(ClientModel):
    code: str
    name: str
    population: int


class Lever(ClientModel):
    id: str
    version: str
    name: str
    sector: str
    unit: str | None
    has_physical_unit: bool
    editable: bool


class Conversion(ClientModel):
    lever_id: str
    version: str
    region: str
    ktco2e: Decimal
    physical: Decimal
    unit: str | None


class LeversClient(ServiceClient):
    service = "levers"

    async def get_region(self, code: str, *, principal: Principal) -> Region:
        return await self.get_model(Region, f"/api/v1/territories/regions/{code}", principal=principal)

    async def get_lever(self, lever_id: str, *, principal: Principal, version: str | None = None) -> Lever:
        params = {"version": version} if version else None
        return await self.get_model(Lever, f"/api/v1/levers/{lever_id}", principal=principal, params=params)

    async def to_physical(
        self, lever_id: str, *, region: str, version: str, ktco2e: Decimal, principal: Principal
    ) -> Conversion:
        return await self.get_model(
            Conversion,
            f"/api/v1/levers/{lever_id}/convert",
            principal=principal,
            params={"region": region, "version": version, "ktco2e": str(ktco2e)},
        )
