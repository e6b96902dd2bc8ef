"""Territories: public reads of the INSEE COG (open data) and of CRTE perimeters; CRTE upload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from planeco_levers.territories import service
from planeco_levers.territories.crte_import import CSV_FORMAT, import_crte_csv
from planeco_levers.territories.models import EpciNature
from planeco_levers.territories.schemas import (
    CollectiviteRead,
    CommuneRead,
    CrteDetail,
    CrteImportReport,
    CrteRead,
    DepartementRead,
    EpciDetail,
    EpciRead,
    EptDetail,
    EptRead,
    RegionRead,
)
from planeco_shared.caching import public_cache
from planeco_shared.codes import (
    COLLECTIVITE_PATTERN,
    REGION_PATTERN,
    CommunePath,
    DepartementFilter,
    DepartementPath,
    RegionFilter,
    RegionPath,
    SirenFilter,
    SirenPath,
)
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller, Principal, RequireRole, Role
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.text import FreeText
from planeco_shared.uploads import CSV_MEDIA_TYPES, csv_request_body, read_upload

router = APIRouter(prefix="/territories", tags=["territories"], responses=problem_responses(401))

CRTE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"
MAX_CSV_BYTES = 10 * 1024 * 1024

Search = Annotated[
    FreeText | None,
    Query(
        min_length=2,
        max_length=100,
        description="Digits (or 2A/2B then digits): code prefix. Otherwise words of the name, accents, case "
        "and punctuation ignored, each query matching the start of a word of the name (`orleans` finds "
        "Orléans, `saint etienne` Saint-Étienne); best matches first, then the most populated.",
    ),
]


@router.get(
    "/regions",
    response_model=Page[RegionRead],
    summary="List régions (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_regions(session: SessionDep, _caller: AnyCaller, page: PageDep) -> Page[RegionRead]:
    return await service.list_regions(session, params=page)


@router.get(
    "/regions/{code}",
    response_model=RegionRead,
    summary="One région (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_region(code: RegionPath, session: SessionDep, _caller: AnyCaller) -> RegionRead:
    return await service.get_region(session, code)


@router.get(
    "/departements",
    response_model=Page[DepartementRead],
    summary="List départements (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_departements(
    session: SessionDep, _caller: AnyCaller, page: PageDep, region: RegionFilter = None
) -> Page[DepartementRead]:
    return await service.list_departements(session, region=region, params=page)


@router.get(
    "/departements/{code}",
    response_model=DepartementRead,
    summary="One département (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
    responses=problem_responses(404),
)
async def get_departement(code: DepartementPath, session: SessionDep, _caller: AnyCaller) -> DepartementRead:
    return await service.get_departement(session, code)


@router.get(
    "/epcis",
    response_model=Page[EpciRead],
    summary="List EPCI à fiscalité propre (public)",
    description="EPT are not EPCI à fiscalité propre: see `/territories/epts`. An EPCI spanning two "
    "régions is listed under the one it is attached to (most population; ties → lowest code).",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_epcis(
    session: SessionDep,
    _caller: AnyCaller,
    page: PageDep,
    region: RegionFilter = None,
    departement: DepartementFilter = None,
    nature: Annotated[EpciNature | None, Query(description="Only this nature juridique")] = None,
    q: Search = None,
) -> Page[EpciRead]:
    return await service.list_epcis(
        session, region=region, departement=departement, nature=nature, q=q, params=page
    )


@router.get(
    "/epcis/{siren}",
    response_model=EpciDetail,
    summary="One EPCI à fiscalité propre, with its member communes (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
    responses=problem_responses(404),
)
async def get_epci(siren: SirenPath, session: SessionDep, _caller: AnyCaller) -> EpciDetail:
    return await service.get_epci(session, siren)


@router.get(
    "/epts",
    response_model=Page[EptRead],
    summary="List établissements publics territoriaux of the Métropole du Grand Paris (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_epts(
    session: SessionDep, _caller: AnyCaller, page: PageDep, departement: DepartementFilter = None
) -> Page[EptRead]:
    return await service.list_epts(session, departement=departement, params=page)


@router.get(
    "/epts/{siren}",
    response_model=EptDetail,
    summary="One EPT, with its member communes (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
    responses=problem_responses(404),
)
async def get_ept(siren: SirenPath, session: SessionDep, _caller: AnyCaller) -> EptDetail:
    return await service.get_ept(session, siren)


@router.get(
    "/communes",
    response_model=Page[CommuneRead],
    summary="List or search communes (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
    responses=problem_responses(422),
)
async def list_communes(
    session: SessionDep,
    _caller: AnyCaller,
    page: PageDep,
    region: RegionFilter = None,
    departement: DepartementFilter = None,
    epci: SirenFilter = None,
    q: Search = None,
) -> Page[CommuneRead]:
    return await service.list_communes(
        session, region=region, departement=departement, epci=epci, q=q, params=page
    )


@router.get(
    "/communes/{code}",
    response_model=CommuneRead,
    summary="One commune (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
    responses=problem_responses(404),
)
async def get_commune(code: CommunePath, session: SessionDep, _caller: AnyCaller) -> CommuneRead:
    return await service.get_commune(session, code)


@router.get(
    "/collectivites/{identifier}",
    response_model=CollectiviteRead,
    summary="Find a collectivité by SIREN or INSEE code (public)",
    description="What a contributor's scope names: an EPCI's or a commune's SIREN, a commune's INSEE code "
    "or a département's code, with the régions and départements it lies in.",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
    responses=problem_responses(404),
)
async def get_collectivite(
    identifier: Annotated[
        str,
        Path(
            pattern=COLLECTIVITE_PATTERN,
            description="SIREN (9 digits), commune INSEE code or département code",
            examples=["214502346"],
        ),
    ],
    session: SessionDep,
    _caller: AnyCaller,
) -> CollectiviteRead:
    return await service.get_collectivite(session, identifier)


@router.get(
    "/crtes",
    response_model=Page[CrteRead],
    summary="List CRTE perimeters (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_crtes(
    session: SessionDep, _caller: AnyCaller, page: PageDep, region: RegionFilter = None
) -> Page[CrteRead]:
    return await service.list_crtes(session, region=region, params=page)


@router.get(
    "/crtes/{crte_id}",
    response_model=CrteDetail,
    summary="One CRTE, with its member EPCI and communes (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
    responses=problem_responses(404),
)
async def get_crte(
    crte_id: Annotated[str, Path(pattern=CRTE_ID, description="CRTE identifier")],
    session: SessionDep,
    _caller: AnyCaller,
) -> CrteDetail:
    return await service.get_crte(session, crte_id)


@router.post(
    "/crtes/imports",
    response_model=CrteImportReport,
    summary="Replace the CRTE perimeters of one's région from a CSV (coordinators, admins)",
    description="Send the file as the request body with `Content-Type: text/csv` (at most 10 MiB).\n\n"
    + CSV_FORMAT,
    responses=problem_responses(403, 413, 415, 422),
    openapi_extra=csv_request_body(
        "crte_id,crte_name,member\ncrte-45-orleans,CRTE Orléans Métropole,244500468\n"
    ),
)
async def import_crtes(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(RequireRole(Role.coordinator))],
    region: Annotated[
        str | None,
        Query(
            pattern=REGION_PATTERN,
            description="The région whose CRTE set the file replaces; every CRTE of the file must lie in it, "
            "and a file with only its header row empties the set",
            examples=["24"],
        ),
    ] = None,
) -> CrteImportReport:
    content = await read_upload(request, media_types=CSV_MEDIA_TYPES, max_bytes=MAX_CSV_BYTES, what="the CSV")
    return await import_crte_csv(session, content, principal=principal, region=region)
