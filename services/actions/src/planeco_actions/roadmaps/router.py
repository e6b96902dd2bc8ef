"""The roadmaps: lever by lever, the distance from the actions to the objectives."""

from __future__ import annotations

from fastapi import APIRouter

from planeco_actions.roadmaps import service
from planeco_actions.roadmaps.schemas import RegionRoadmap, VersionQuery
from planeco_shared.codes import RegionPath
from planeco_shared.database import SessionDep
from planeco_shared.identity import PUBLIC, AnyCaller
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, ScopesDep

# Public: a caller of the région (its coordinators, contributors, national readers and admins) counts
# every action; anyone else, anonymous included, the published actions only (`scope` says which).
router = APIRouter(prefix="/roadmaps", tags=["roadmaps"])


@router.get(
    "/regions/{code}",
    response_model=RegionRoadmap,
    summary="The roadmap of a région: per lever, objective, impact of the actions and remaining gap",
    description="Per lever of the région's panorama at `version` (the latest when omitted): the objective "
    "in use (the région's adjusted one where it set one, else the official one: `objective_source`), the "
    "impact of its actions `realisee`, `en_cours` and `retenue` (their sum `committed_ktco2e`) and, apart, "
    "`proposee`; the gap (objective − committed) in ktCO2e and in the lever's unit; the share covered; "
    "the actions; totals per sector and for the région (exact sums: the levers add up to the sectors and "
    "the région). Impacts stored at another panorama version are counted as stored and flagged "
    "`other_version`. Callers of the région count all its actions, others (anonymous included) the "
    "published ones (`scope`). 422 for an unknown version, 404 for an unknown région.",
    responses=problem_responses(404, 422, 502, 503, 504),
    openapi_extra=PUBLIC,
)
async def get_region_roadmap(
    code: RegionPath,
    session: SessionDep,
    caller: AnyCaller,
    levers: LeversDep,
    scopes: ScopesDep,
    version: VersionQuery = "latest",
) -> RegionRoadmap:
    regions = await scopes.visible_regions(caller) if caller.is_authenticated else frozenset()
    return await service.region_roadmap(
        session, code, version=version, principal=caller, regions=regions, levers=levers
    )
