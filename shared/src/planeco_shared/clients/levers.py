"""Typed client of the levers service: territories, the lever catalogue, panoramas, declinations,
conversions. Each model names only the fields its consumers read (`ClientModel` ignores the rest)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from planeco_shared.clients.base import ClientModel, ModelT, ServiceClient
from planeco_shared.identity import Principal

PAGE_SIZE = 500  # the largest page a list answers


class Region(ClientModel):
    code: str
    name: str
    population: int


class Departement(ClientModel):
    code: str
    name: str
    region: str
    population: int


class EpciSummary(ClientModel):
    """An EPCI as the list gives it: the région and département it is attached to (most population)."""

    siren: str
    name: str
    nature: str
    region: str
    departement: str
    population: int


class Epci(ClientModel):
    siren: str
    name: str
    nature: str
    region: str
    departement: str
    regions: list[str]
    departements: list[str]
    population: int


class Commune(ClientModel):
    code: str
    name: str
    departement: str
    region: str
    epci: str | None
    siren: str | None
    population: int


class Crte(ClientModel):
    id: str
    name: str
    region: str
    departement: str | None = None  # by the attachment rule (null: a CRTE loaded before it was derived)
    population: int


class Collectivite(ClientModel):
    level: str  # departement, epci, commune
    code: str
    siren: str | None
    name: str
    regions: list[str]
    departements: list[str]
    epci: str | None


class Lever(ClientModel):
    id: str
    version: str
    name: str
    sector: str
    unit: str | None
    has_physical_unit: bool
    intensive_unit: bool
    editable: bool


class AdjustedObjective(ClientModel):
    """The région's own objective for a lever (`PUT …/adjustments/{lever_id}`)."""

    objective_ktco2e: Decimal


class PanoramaLever(ClientModel):
    lever_id: str
    name: str
    sector: str
    objective_ktco2e: Decimal
    unit: str | None
    start_2019: Decimal
    ratio: Decimal
    physical_2030: Decimal | None
    has_physical_unit: bool
    editable: bool
    adjusted: AdjustedObjective | None


class PanoramaVersion(ClientModel):
    version: str  # the SGPE release date (also when asked as `latest`)
    latest: bool


class RegionPanorama(ClientModel):
    version: str
    total_ktco2e: Decimal
    adjusted_total_ktco2e: Decimal
    levers: list[PanoramaLever]


class DeclinationLevel(StrEnum):
    departement = "departement"
    epci = "epci"
    crte = "crte"


class ChildFigures(ClientModel):
    code: str
    name: str
    share: Decimal
    objective_ktco2e: Decimal


class LeverDeclination(ClientModel):
    lever_id: str
    name: str
    sector: str
    physical_method: str  # apportioned | not_additive (an intensity) | none (no physical unit)
    children: list[ChildFigures]


class Declination(ClientModel):
    version: str
    level: DeclinationLevel
    basis: str
    total_ktco2e: Decimal
    levers: list[LeverDeclination]


class Conversion(ClientModel):
    lever_id: str
    version: str
    region: str
    ktco2e: Decimal
    physical: Decimal
    unit: str | None
    start_2019: Decimal
    ratio: Decimal  # physical units per ktCO2e: physical = max(0, start_2019 + ktco2e × ratio)
    clamped: bool


_DECLINATION_PATHS = {
    DeclinationLevel.departement: "departements",
    DeclinationLevel.epci: "epcis",
    DeclinationLevel.crte: "crtes",
}


class LeversClient(ServiceClient):
    service = "levers"

    async def get_region(self, code: str, *, principal: Principal | None = None) -> Region:
        return await self.get_model(Region, f"/api/v1/territories/regions/{code}", principal=principal)

    async def get_departement(self, code: str, *, principal: Principal | None = None) -> Departement:
        return await self.get_model(
            Departement, f"/api/v1/territories/departements/{code}", principal=principal
        )

    async def get_epci(self, siren: str, *, principal: Principal | None = None) -> Epci:
        return await self.get_model(Epci, f"/api/v1/territories/epcis/{siren}", principal=principal)

    async def get_commune(self, code: str, *, principal: Principal | None = None) -> Commune:
        return await self.get_model(Commune, f"/api/v1/territories/communes/{code}", principal=principal)

    async def get_crte(self, crte_id: str, *, principal: Principal | None = None) -> Crte:
        return await self.get_model(Crte, f"/api/v1/territories/crtes/{crte_id}", principal=principal)

    async def get_collectivite(self, identifier: str, *, principal: Principal | None = None) -> Collectivite:
        """A collectivité by SIREN or INSEE code, with the régions and départements it lies in."""
        return await self.get_model(
            Collectivite, f"/api/v1/territories/collectivites/{identifier}", principal=principal
        )

    async def list_departements(
        self, *, region: str, principal: Principal | None = None
    ) -> list[Departement]:
        """Every département of a région."""
        return await self._all(Departement, "/api/v1/territories/departements", {"region": region}, principal)

    async def list_epcis(
        self,
        *,
        region: str | None = None,
        departement: str | None = None,
        nature: str | None = None,
        principal: Principal | None = None,
    ) -> list[EpciSummary]:
        """Every EPCI à fiscalité propre of a région (the one it is attached to) or a département."""
        params = {
            k: v for k, v in {"region": region, "departement": departement, "nature": nature}.items() if v
        }
        return await self._all(EpciSummary, "/api/v1/territories/epcis", params, principal)

    async def list_communes(
        self, *, region: str | None = None, departement: str | None = None, principal: Principal | None = None
    ) -> list[Commune]:
        """Every commune of a région or a département."""
        params = {k: v for k, v in {"region": region, "departement": departement}.items() if v}
        return await self._all(Commune, "/api/v1/territories/communes", params, principal)

    async def _all(
        self, model: type[ModelT], path: str, params: dict[str, str], principal: Principal | None
    ) -> list[ModelT]:
        """Every item of a paged list, page after page (500 a page)."""
        items: list[ModelT] = []
        page = 1
        while True:
            body = await self.get_json(
                path, principal=principal, params=params | {"page": str(page), "page_size": str(PAGE_SIZE)}
            )
            items.extend(model.model_validate(item) for item in body["items"])
            if len(items) >= body["total"] or not body["items"]:
                return items
            page += 1

    async def get_lever(
        self, lever_id: str, *, version: str | None = None, principal: Principal | None = None
    ) -> Lever:
        params = {"version": version} if version else None
        return await self.get_model(Lever, f"/api/v1/levers/{lever_id}", principal=principal, params=params)

    async def get_panorama_version(
        self, version: str, *, principal: Principal | None = None
    ) -> PanoramaVersion:
        """One panorama version (`latest`: the most recent one)."""
        return await self.get_model(PanoramaVersion, f"/api/v1/panoramas/{version}", principal=principal)

    async def region_panorama(
        self, version: str, code: str, *, principal: Principal | None = None
    ) -> RegionPanorama:
        return await self.get_model(
            RegionPanorama, f"/api/v1/panoramas/{version}/regions/{code}", principal=principal
        )

    async def declination(
        self,
        version: str,
        code: str,
        level: DeclinationLevel,
        *,
        lever_id: str | None = None,
        adjusted: bool = False,
        precision: str = "0.1",
        principal: Principal | None = None,
    ) -> Declination:
        """The région's objectives declined to its départements, EPCI or CRTE, rounded to `precision`
        (1, 0.1, 0.01 or 0.001 ktCO2e) by largest remainders, so that the children add up to the région."""
        params = {"precision": precision, "basis": "adjusted" if adjusted else "official"}
        if lever_id is not None:
            params["lever_id"] = lever_id
        return await self.get_model(
            Declination,
            f"/api/v1/panoramas/{version}/regions/{code}/{_DECLINATION_PATHS[level]}",
            principal=principal,
            params=params,
        )

    async def to_physical(
        self, lever_id: str, *, region: str, version: str, ktco2e: Decimal, principal: Principal | None = None
    ) -> Conversion:
        """ktCO2e → the lever's physical unit, with the région's factors of `version`."""
        return await self._convert(lever_id, region, version, {"ktco2e": str(ktco2e)}, principal)

    async def to_ktco2e(
        self,
        lever_id: str,
        *,
        region: str,
        version: str,
        physical: Decimal,
        principal: Principal | None = None,
    ) -> Conversion:
        """The lever's physical unit → ktCO2e, with the région's factors of `version`."""
        return await self._convert(lever_id, region, version, {"physical": str(physical)}, principal)

    async def _convert(
        self, lever_id: str, region: str, version: str, quantity: dict[str, str], principal: Principal | None
    ) -> Conversion:
        params = {"region": region, "version": version} | quantity
        return await self.get_model(
            Conversion, f"/api/v1/levers/{lever_id}/convert", principal=principal, params=params
        )
