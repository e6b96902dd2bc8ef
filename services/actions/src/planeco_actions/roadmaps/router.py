"""The roadmaps: lever by lever, the distance from the actions to the objectives."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from planeco_actions.roadmaps import exports, service
from planeco_actions.roadmaps.schemas import (
    CalendarRead,
    FinancingRead,
    RoadmapRead,
    RoadmapTable,
    VersionQuery,
    YearQuery,
)
from planeco_shared.codes import DepartementPath, RegionPath
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller
from planeco_shared.models import utcnow
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, ScopesDep
from planeco_shared.tabular import add_export_route

# Public: a caller of the région (its coordinators, contributors, national readers and admins) counts
# every action; anyone else, anonymous included, the published actions only (`scope` says which).
router = APIRouter(prefix="/roadmaps", tags=["roadmaps"])
RESPONSES = problem_responses(404, 422, 502, 503, 504)


@router.get(
    "/regions/{code}",
    response_model=RoadmapRead,
    summary="The roadmap of a région: per lever, objective, impact of the actions and remaining gap",
    description="Per lever of the région's panorama at `version` (the latest when omitted): the objective "
    "in use (the région's adjusted one where it set one, else the official one: `objective_source`), the "
    "impact of its actions `realisee`, `en_cours` and `retenue` (their sum `committed_ktco2e`) and, apart, "
    "`proposee`; the gap (objective − committed) in ktCO2e and in the lever's unit; the share covered; "
    "the actions; totals per sector and for the région (exact sums: the levers add up to the sectors and "
    "the région). Impacts stored at another panorama version are counted as stored and flagged "
    "`other_version`. On track (`year`, the current one when omitted): per lever and in the totals, where "
    "a straight path from 0 in 2019 to the 2030 objective stands that year (`expected_ktco2e`) against what "
    "the `realisee` actions and the latest progress updates of the others reach (`reached_ktco2e`); `path` "
    "says how. Callers of the région count all its actions, others (anonymous included) the "
    "published ones (`scope`). 422 for an unknown version, 404 for an unknown région.",
    responses=RESPONSES,
    openapi_extra=PUBLIC,
)
async def get_region_roadmap(
    code: RegionPath,
    session: SessionDep,
    caller: AnyCaller,
    levers: LeversDep,
    scopes: ScopesDep,
    version: VersionQuery = "latest",
    year: YearQuery | None = None,
) -> RoadmapRead:
    regions = await scopes.visible_regions(caller) if caller.is_authenticated else frozenset()
    return await service.region_roadmap(
        session,
        code,
        version=version,
        year=year or utcnow().year,
        principal=caller,
        regions=regions,
        levers=levers,
    )


@router.get(
    "/regions/{code}/departements/{departement}",
    response_model=RoadmapRead,
    summary="The roadmap of a département: its declined objectives against the actions located in it",
    description="As the région's roadmap, per lever, against the département's share of the région's "
    "objectives (the levers service's declination, at 0.001 ktCO2e by largest remainders: the départements "
    "add up to the région; the adjusted objective where the région set one), counting the actions located "
    "in the département (on it, its EPCI or its communes). `gap_physical` uses the région's ratio, for "
    "levers whose physical figures decline (null for intensities). 404 for a département not in the région.",
    responses=RESPONSES,
    openapi_extra=PUBLIC,
)
async def get_departement_roadmap(
    code: RegionPath,
    departement: DepartementPath,
    session: SessionDep,
    caller: AnyCaller,
    levers: LeversDep,
    scopes: ScopesDep,
    version: VersionQuery = "latest",
    year: YearQuery | None = None,
) -> RoadmapRead:
    regions = await scopes.visible_regions(caller) if caller.is_authenticated else frozenset()
    return await service.departement_roadmap(
        session,
        code,
        departement,
        version=version,
        year=year or utcnow().year,
        principal=caller,
        regions=regions,
        levers=levers,
    )


TableQuery = Annotated[
    RoadmapTable,
    Query(
        alias="table",
        description="`levers` (default: one row per lever), `sectors` (one row per sector and a `total` "
        "row) or `actions` (one row per action and lever: the levers' figures are their sums by status)",
    ),
]
EXPORT_TEXT = (
    "\n\nThe figures of the JSON read exactly, one table per file (`table`). The CSV is UTF-8 with a "
    "byte-order mark, `;`-separated, with a decimal comma (`decimal=point` for a decimal point); it starts "
    "with metadata lines beginning with `#` (title, sources: the SGPE panorama version and the actions "
    "service, licence: Licence Ouverte 2.0, generated_at, notes), then the header, with units in it "
    "(`[ktCO2e]`; `[unit: see column unit]` where levers of different units share a column). The XLSX has a "
    "`data` sheet with numeric cells and a `metadata` sheet. Like the JSON read, callers of the région "
    "count all its actions, others the published ones (`scope` in the metadata)."
)


async def _region_roadmap_table(
    code: RegionPath,
    session: SessionDep,
    caller: AnyCaller,
    levers: LeversDep,
    scopes: ScopesDep,
    version: VersionQuery = "latest",
    year: YearQuery | None = None,
    table: TableQuery = RoadmapTable.levers,
) -> tuple[RoadmapRead, RoadmapTable]:
    view = await get_region_roadmap(code, session, caller, levers, scopes, version, year)
    return view, table


async def _departement_roadmap_table(
    code: RegionPath,
    departement: DepartementPath,
    session: SessionDep,
    caller: AnyCaller,
    levers: LeversDep,
    scopes: ScopesDep,
    version: VersionQuery = "latest",
    year: YearQuery | None = None,
    table: TableQuery = RoadmapTable.levers,
) -> tuple[RoadmapRead, RoadmapTable]:
    view = await get_departement_roadmap(code, departement, session, caller, levers, scopes, version, year)
    return view, table


add_export_route(
    router,
    "/regions/{code}",
    _region_roadmap_table,
    name="export_region_roadmap",
    summary="The roadmap of a région as a CSV or XLSX file: its levers, sectors or actions",
    description="The figures of `getRegionRoadmap`, as a file (`planeco-feuille-de-route-region-24-"
    "2024-07-24-levers.csv`)." + EXPORT_TEXT,
    filename=lambda view, _arguments: exports.live_filename(*view),
    table=lambda view: exports.live_table(*view),
    responses=RESPONSES,
    openapi_extra=PUBLIC,
)
add_export_route(
    router,
    "/regions/{code}/departements/{departement}",
    _departement_roadmap_table,
    name="export_departement_roadmap",
    summary="The roadmap of a département as a CSV or XLSX file: its levers, sectors or actions",
    description="The figures of `getDepartementRoadmap`, as a file (`planeco-feuille-de-route-departement-"
    "45-2024-07-24-levers.csv`)." + EXPORT_TEXT,
    filename=lambda view, _arguments: exports.live_filename(*view),
    table=lambda view: exports.live_table(*view),
    responses=RESPONSES,
    openapi_extra=PUBLIC,
)


@router.get(
    "/regions/{code}/financing",
    response_model=FinancingRead,
    summary="The financing of a région's roadmap: cost per year, main lever, financer, planned or secured",
    description="The budget lines of the région's actions (not archived, not abandoned; any territory in "
    "it) summed per year, main lever (an action's lines all go to its main lever) and financer (by name, "
    "spaces collapsed), planned (`planifie`) and secured (`acquis`); then per year, per lever, per financer "
    "and in total. Exact euros: the cells add up to each view and to the total. Callers of the région count "
    "all its actions, others (anonymous included) the published ones (`scope`). 404 for an unknown région.",
    responses=RESPONSES,
    openapi_extra=PUBLIC,
)
async def get_region_financing(
    code: RegionPath, session: SessionDep, caller: AnyCaller, levers: LeversDep, scopes: ScopesDep
) -> FinancingRead:
    regions = await scopes.visible_regions(caller) if caller.is_authenticated else frozenset()
    return await service.region_financing(session, code, principal=caller, regions=regions, levers=levers)


@router.get(
    "/regions/{code}/calendar",
    response_model=CalendarRead,
    summary="The calendar of a région's roadmap: per year, the actions running and their phases",
    description="Per year, the région's actions (not archived, not abandoned) running that year, from their "
    "start to their end date (or their phases' when they have no dates of their own), with the phases and "
    "milestones that fall in the year; actions with no date apart (`undated`). Callers of the région see all "
    "its actions, others (anonymous included) the published ones (`scope`). 404 for an unknown région.",
    responses=RESPONSES,
    openapi_extra=PUBLIC,
)
async def get_region_calendar(
    code: RegionPath, session: SessionDep, caller: AnyCaller, levers: LeversDep, scopes: ScopesDep
) -> CalendarRead:
    regions = await scopes.visible_regions(caller) if caller.is_authenticated else frozenset()
    return await service.region_calendar(session, code, principal=caller, regions=regions, levers=levers)
