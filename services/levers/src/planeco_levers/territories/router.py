"""Territories: public reads of the INSEE COG (open data)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from planeco_levers.territories import service
from planeco_levers.territories.schemas import DepartementRead, RegionRead
from planeco_shared.caching import public_cache
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses

router = APIRouter(prefix="/territories", tags=["territories"], responses=problem_responses(401))

RegionCode = Annotated[str, Path(pattern=r"^\d{2}$", description="INSEE code of a région", examples=["24"])]
DepartementCode = Annotated[
    str, Path(pattern=r"^(\d{2}|2[AB]|97\d)$", description="INSEE code of a département", examples=["45"])
]


@router.get(
    "/regions",
    response_model=list[RegionRead],
    summary="List the 18 régions (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_regions(session: SessionDep, _caller: AnyCaller) -> list[RegionRead]:
    return await service.list_regions(session)


@router.get(
    "/regions/{code}",
    response_model=RegionRead,
    summary="One région (public)",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_region(code: RegionCode, session: SessionDep, _caller: AnyCaller) -> RegionRead:
    return await service.get_region(session, code)


@router.get(
    "/departements",
    response_model=Page[DepartementRead],
    summary="List départements (public)",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_departements(
    session: SessionDep,
    _caller: AnyCaller,
    page: PageDep,
    region: Annotated[str | None, Query(pattern=r"^\d{2}$", description="Only this région's")] = None,
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
async def get_departement(code: DepartementCode, session: SessionDep, _caller: AnyCaller) -> DepartementRead:
    return await service.get_departement(session, code)
