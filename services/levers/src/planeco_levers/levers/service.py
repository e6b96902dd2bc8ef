"""The lever catalogue of each panorama version, and conversions ktCO2e ↔ physical units.

Without `version`, the catalogue is the latest version's; one lever without `version` is described by the
latest version that has it.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.levers import conversion
from planeco_levers.levers.models import LeverGroup, LeverVersion, Sector
from planeco_levers.levers.repository import LeverRepository
from planeco_levers.levers.schemas import ConversionRead, LeverDetail, LeverRead, LeverSort, TermRead, Zone
from planeco_levers.panoramas import service as panoramas
from planeco_levers.panoramas.repository import PanoramaRepository
from planeco_shared.pagination import Page, PageParams, paginate
from planeco_shared.problems import FieldError, NotFound, UnprocessableEntity


def _lever(lever: LeverVersion, sectors: dict[str, str], groups: dict[str, str]) -> dict[str, object]:
    zones = [
        zone for zone, present in ((Zone.metro, lever.in_mainland), (Zone.drom, lever.in_overseas)) if present
    ]
    return {
        "id": lever.lever_id,
        "version": lever.version_id,
        "name": lever.name,
        "sector": lever.sector_id,
        "sector_label": sectors.get(lever.sector_id, lever.sector_id),
        "group": lever.group_id,
        "group_label": groups.get(lever.group_id, lever.group_id),
        "unit": panoramas.one_line(lever.unit_physical) if lever.has_physical_unit else None,
        "unit_co2": panoramas.one_line(lever.unit_co2),
        "has_physical_unit": lever.has_physical_unit,
        "intensive_unit": lever.has_physical_unit and conversion.is_intensive_unit(lever.unit_physical),
        "editable": lever.editable,
        "show_target": lever.show_target,
        "zones": zones,
        "region_count": lever.region_count,
        "position": lever.position,
        "varies_by_region": [str(name) for name in lever.varies_by_region],
    }


async def _labels(session: AsyncSession) -> tuple[dict[str, str], dict[str, str]]:
    repository = PanoramaRepository(session)
    sectors = {key: label for key, (label, _position) in (await repository.sector_labels()).items()}
    return sectors, await repository.group_labels()


async def list_levers(
    session: AsyncSession,
    *,
    version: str | None,
    sector: str | None,
    group: str | None,
    zone: Zone | None,
    editable: bool | None,
    has_physical_unit: bool | None,
    sort: LeverSort,
    params: PageParams,
) -> Page[LeverRead]:
    resolved = await panoramas.resolve_version(session, version)
    if resolved is None:
        return Page.of([], 0, params)
    statement = LeverRepository(session).levers_statement(
        resolved,
        sector=sector,
        group=group,
        zone=zone,
        editable=editable,
        has_physical_unit=has_physical_unit,
        sort=sort,
    )
    rows, total = await paginate(session, statement, params)
    sectors, groups = await _labels(session)
    return Page.of(
        [LeverRead.model_validate(_lever(lever, sectors, groups)) for lever in rows], total, params
    )


async def _lever_version(
    session: AsyncSession, lever_id: str, version: str | None
) -> tuple[LeverVersion, list[str]]:
    """The lever in `version`, or in the latest version that has it; and every version that has it."""
    repository = LeverRepository(session)
    versions = await repository.versions_of(lever_id)
    if version is None:
        if not versions:
            raise NotFound(f"No lever {lever_id!r} in any panorama version")
        version = versions[0]
    else:
        await panoramas.require_version(session, version)
    lever = await repository.get(version, lever_id)
    if lever is None:
        elsewhere = f"; it is in {', '.join(versions)}" if versions else ""
        raise NotFound(f"No lever {lever_id!r} in panorama {version}{elsewhere}")
    return lever, versions


async def get_lever(session: AsyncSession, lever_id: str, version: str | None) -> LeverDetail:
    lever, versions = await _lever_version(session, lever_id, version)
    sectors, groups = await _labels(session)
    regions = sorted(await PanoramaRepository(session).region_codes_of_lever(lever.version_id, lever_id))
    return LeverDetail.model_validate(
        _lever(lever, sectors, groups) | {"versions": versions, "regions": regions}
    )


def _terms(rows: list[tuple[Sector, int]] | list[tuple[LeverGroup, int]]) -> list[TermRead]:
    return [TermRead(id=term.id, label=term.label, lever_count=count) for term, count in rows]


async def list_sectors(session: AsyncSession, version: str | None) -> list[TermRead]:
    resolved = await panoramas.resolve_version(session, version)
    return _terms(await LeverRepository(session).sectors(resolved)) if resolved else []


async def list_groups(session: AsyncSession, version: str | None) -> list[TermRead]:
    resolved = await panoramas.resolve_version(session, version)
    return _terms(await LeverRepository(session).groups(resolved)) if resolved else []


async def convert(
    session: AsyncSession,
    lever_id: str,
    *,
    region: str,
    version: str | None,
    ktco2e: Decimal | None,
    physical: Decimal | None,
) -> ConversionRead:
    if (ktco2e is None) == (physical is None):
        raise UnprocessableEntity(
            "Give exactly one of ktco2e or physical",
            errors=[
                FieldError(loc=["query", name], msg="give exactly one of ktco2e or physical", type="one_of")
                for name in ("ktco2e", "physical")
            ],
        )
    lever, _versions = await _lever_version(session, lever_id, version)
    objective = await PanoramaRepository(session).get_objective(lever.version_id, lever_id, region)
    if objective is None:
        raise await panoramas.lever_not_in_region(session, lever.version_id, lever_id, region)
    factors = conversion.Factors(
        ratio=objective.ratio, start_2019=objective.start_2019, has_physical_unit=objective.has_physical_unit
    )
    try:
        result = (
            conversion.to_physical(ktco2e, factors)
            if ktco2e is not None
            else conversion.to_ktco2e(physical, factors)  # type: ignore[arg-type]
        )
    except conversion.ConversionError as exc:
        loc: list[str | int] = ["path", "lever_id"] if exc.field == "lever" else ["query", exc.field]
        raise UnprocessableEntity(
            f"{exc.message} (lever {lever_id!r}, région {region}, panorama {lever.version_id})",
            errors=[FieldError(loc=loc, msg=exc.message, type=exc.code)],
            code=exc.code,
        ) from exc
    return ConversionRead(
        lever_id=lever_id,
        version=lever.version_id,
        region=region,
        direction="to_physical" if ktco2e is not None else "to_ktco2e",
        ktco2e=result.ktco2e,
        ktco2e_rounded=result.ktco2e_rounded,
        physical=result.physical,
        physical_rounded=result.physical_rounded,
        clamped=result.clamped,
        unit=panoramas.one_line(objective.unit_physical),
        start_2019=objective.start_2019,
        ratio=objective.ratio,
    )
