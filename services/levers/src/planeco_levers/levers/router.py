"""Levers: the catalogue of each panorama version (public) and conversions ktCO2e ↔ physical units."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query

from planeco_levers.levers import service
from planeco_levers.levers.schemas import ConversionRead, LeverDetail, LeverRead, LeverSort, TermRead, Zone
from planeco_levers.panoramas.importer import LEVER_ID_PATTERN, VERSION_PATTERN
from planeco_shared.caching import public_cache
from planeco_shared.codes import REGION_PATTERN
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses

router = APIRouter(prefix="/levers", tags=["levers"], responses=problem_responses(401))

LeverId = Annotated[
    str, Path(pattern=LEVER_ID_PATTERN, description="SGPE lever id", examples=["augm_voitelec"])
]
VersionQuery = Annotated[
    str | None,
    Query(
        pattern=VERSION_PATTERN, description="Panorama version (default: the latest)", examples=["2024-07-24"]
    ),
]
Slug = Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,60}$")]
Quantity = Annotated[
    Decimal | None,
    Query(
        ge=Decimal("-1e9"),
        le=Decimal("1e9"),
        decimal_places=12,
        description="Exact decimal (at most 12 decimal places)",
    ),
]


@router.get(
    "",
    response_model=Page[LeverRead],
    summary="The lever catalogue of a panorama version (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_levers(
    session: SessionDep,
    _caller: AnyCaller,
    page: PageDep,
    version: VersionQuery = None,
    sector: Annotated[Slug, Query(description="Only this sector's levers (sector id)")] = None,
    group: Annotated[Slug, Query(description="Only this thématique's levers (group id)")] = None,
    zone: Annotated[
        Zone | None, Query(description="Only levers that exist in mainland or overseas régions")
    ] = None,
    editable: Annotated[bool | None, Query(description="Only levers régions can (or cannot) edit")] = None,
    has_physical_unit: Annotated[
        bool | None, Query(description="Only levers with (or without) a physical unit")
    ] = None,
    sort: Annotated[LeverSort, Query(description="Sort key (then lever id)")] = LeverSort.position,
) -> Page[LeverRead]:
    return await service.list_levers(
        session,
        version=version,
        sector=sector,
        group=group,
        zone=zone,
        editable=editable,
        has_physical_unit=has_physical_unit,
        sort=sort,
        params=page,
    )


@router.get(
    "/sectors",
    response_model=list[TermRead],
    summary="The sectors of a panorama version, with their lever counts (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_sectors(
    session: SessionDep, _caller: AnyCaller, version: VersionQuery = None
) -> list[TermRead]:
    return await service.list_sectors(session, version)


@router.get(
    "/groups",
    response_model=list[TermRead],
    summary="The thématiques (« Mieux se déplacer »…) of a panorama version, with lever counts (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_lever_groups(
    session: SessionDep, _caller: AnyCaller, version: VersionQuery = None
) -> list[TermRead]:
    return await service.list_groups(session, version)


@router.get(
    "/{lever_id}",
    response_model=LeverDetail,
    summary="One lever (default: as the latest version that has it describes it) (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_lever(
    lever_id: LeverId, session: SessionDep, _caller: AnyCaller, version: VersionQuery = None
) -> LeverDetail:
    return await service.get_lever(session, lever_id, version)


@router.get(
    "/{lever_id}/convert",
    response_model=ConversionRead,
    summary="Convert ktCO2e ↔ the lever's physical unit for a région, as the SGPE simulator does (public)",
    description=(
        "Give `ktco2e` (→ physical) or `physical` (→ ktCO2e). "
        "physical = max(0, start_2019 + ktco2e × ratio), exact; "
        "ktco2e = (physical − start_2019) / ratio to 12 decimal places; "
        "`*_rounded` are the simulator's displayed values (Math.round: ktCO2e to a whole number, "
        "physical to one decimal). Inputs the simulator would clamp (ktco2e < 0, physical beyond the "
        "2019 value in the wrong direction) and levers without a physical unit answer 422."
    ),
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def convert_quantity(
    lever_id: LeverId,
    session: SessionDep,
    _caller: AnyCaller,
    region: Annotated[
        str, Query(pattern=REGION_PATTERN, description="INSEE code of the région", examples=["44"])
    ],
    version: VersionQuery = None,
    ktco2e: Annotated[
        Quantity, Query(description="ktCO2e avoided in 2030 versus 2019", examples=["966.1408"])
    ] = None,
    physical: Annotated[Quantity, Query(description="Physical value in 2030, in the lever's unit")] = None,
) -> ConversionRead:
    return await service.convert(
        session, lever_id, region=region, version=version, ktco2e=ktco2e, physical=physical
    )
