"""The aids catalogue (a copy of Aides-territoires, Licence Ouverte) and its sync runs."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request, Response, status

from planeco_actions.aids import service
from planeco_actions.aids.repository import SYNC_JOB
from planeco_actions.aids.schemas import (
    ActionFunding,
    AidDetail,
    AidFilters,
    AidRead,
    AidSyncRunRead,
    LeverMappingRead,
    LeverMappingUpdate,
)
from planeco_actions.jobs import JOBS
from planeco_shared.concurrency import check_if_match, etag, precondition_headers
from planeco_shared.database import SessionDep
from planeco_shared.history import HistoryEntry
from planeco_shared.identity import Principal, RequireRole, require_authenticated
from planeco_shared.jobs import JobTrigger, begin_run
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, RuntimeDep, VisibleRegions

router = APIRouter(
    prefix="/aids",
    tags=["aids"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)

Admin = Annotated[Principal, Depends(RequireRole())]
MAPPING_ETAG = "aid-lever-mapping"
AidId = Annotated[
    int, Path(ge=1, le=2_147_483_647, description="The Aides-territoires id", examples=[162936])
]


@router.get(
    "",
    response_model=Page[AidRead],
    summary="List the aids of the catalogue",
    description="The aids synced from Aides-territoires (source: Aides-territoires, Licence Ouverte; the "
    "last sync is at `/aids/sync-runs`). By default those the last completed sync listed.\n\n"
    "**Available to a territory** (`region`, `departement`, `epci` or `commune`, one of them): the aids "
    "whose perimeter covers it, all of it or part of it. All of it: national aids (France, Europe), "
    "mainland or overseas France as the territory lies, and the aids of a perimeter that contains it (for "
    "the Loiret, 45: the aids of Centre-Val de Loire, of the Loiret itself). Part of it: the aids of a "
    "perimeter inside it (an EPCI or a commune of the Loiret), or of an EPCI across two départements. "
    "`coverage=whole` keeps the first kind only. An aid's perimeter is known by name and scale only; it "
    "is resolved to a territory after each sync (Aides-territoires' perimeters, the levers service's "
    "territories): aids whose perimeter could not be (ad-hoc perimeters, ambiguous names; listed in the "
    "sync run's errors) are in no territory's list. An unknown code is a 422.",
    responses=problem_responses(422, 502, 503, 504),
)
async def list_aids(
    session: SessionDep, page: PageDep, filters: Annotated[AidFilters, Query()], levers: LeversDep
) -> Page[AidRead]:
    return await service.list_aids(session, filters, params=page, levers=levers)


@router.get(
    "/sync-runs",
    response_model=Page[AidSyncRunRead],
    summary="List the runs of the Aides-territoires sync",
    description="Newest first: when, who started it, pages read, aids inserted, updated, unchanged, no "
    "longer listed and unreadable, and the errors.",
)
async def list_aid_sync_runs(session: SessionDep, page: PageDep) -> Page[AidSyncRunRead]:
    return await service.list_sync_runs(session, params=page)


@router.post(
    "/sync-runs",
    response_model=AidSyncRunRead,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Start a sync with Aides-territoires now (admin)",
    description="Recorded as `running` and run in the background (the job `sync-aids`, as "
    "`POST /jobs/actions/runs` would start it); follow it at the `Location`. 409 while another run is in "
    "progress, on any replica.",
    responses=problem_responses(409),
)
async def start_aid_sync(
    runtime: RuntimeDep, principal: Admin, background: BackgroundTasks, response: Response
) -> AidSyncRunRead:
    started = await begin_run(
        runtime, JOBS, SYNC_JOB, trigger=JobTrigger.api, started_by=principal.subject, arguments={}
    )
    background.add_task(started.execute)
    response.headers["Location"] = f"/api/v1/aids/sync-runs/{started.run_id}"
    async with runtime.transaction() as session:
        return await service.get_sync_run(session, started.run_id)


@router.get(
    "/sync-runs/{run_id}",
    response_model=AidSyncRunRead,
    summary="One run of the Aides-territoires sync",
    responses=problem_responses(404),
)
async def get_aid_sync_run(run_id: uuid.UUID, session: SessionDep) -> AidSyncRunRead:
    return await service.get_sync_run(session, run_id)


@router.get(
    "/lever-mapping",
    response_model=LeverMappingRead,
    summary="The lever mapping: Aides-territoires categories (and keywords) → levers",
    description="What decides each aid's `lever_ids`: a rule applies to an aid that has its category "
    "(a whole « Thème / Catégorie » label) and, if the rule has keywords, whose text (name, description, "
    "categories, financers, programs; case and accents aside) contains one of them. Until an administrator "
    "saves one, the shipped default (covering every mainland lever of the latest panorama; revision 0). "
    "The ETag is what `PUT` needs in If-Match.",
    responses={200: {"headers": {"ETag": {"schema": {"type": "string"}, "description": "Its revision"}}}},
)
async def get_lever_mapping(session: SessionDep, response: Response) -> LeverMappingRead:
    mapping = await service.get_lever_mapping(session)
    response.headers["ETag"] = etag(MAPPING_ETAG, mapping.revision)
    return mapping


@router.put(
    "/lever-mapping",
    response_model=LeverMappingRead,
    summary="Replace the lever mapping (admin)",
    description="The whole mapping. If-Match (the ETag read) is required once an administrator saved one "
    '(428 without); replacing the shipped default, it may be left out (or be `"aid-lever-mapping-v0"`). '
    "Every lever id is checked against the levers service (a 422 names each unknown one); the catalogue's "
    "`lever_ids` are recomputed at once. Audited: `GET /aids/lever-mapping/history`.",
    responses=problem_responses(412, 422, 428, 502, 503, 504),
    openapi_extra=precondition_headers(if_match_required=False),
)
async def update_lever_mapping(
    data: LeverMappingUpdate,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: Admin,
    levers: LeversDep,
) -> LeverMappingRead:
    current = await service.get_lever_mapping(session)
    if current.revision > 0 or request.headers.get("if-match") is not None:
        check_if_match(request, etag(MAPPING_ETAG, current.revision))
    mapping = await service.update_lever_mapping(session, data, principal=principal, levers=levers)
    response.headers["ETag"] = etag(MAPPING_ETAG, mapping.revision)
    return mapping


@router.get(
    "/lever-mapping/history",
    response_model=Page[HistoryEntry],
    summary="The lever mapping's changes, newest first",
    description="Who replaced the mapping, when; the change of `rules` (old and new, whole).",
)
async def get_lever_mapping_history(session: SessionDep, page: PageDep) -> Page[HistoryEntry]:
    return await service.lever_mapping_history(session, params=page)


@router.get(
    "/{aid_id}",
    response_model=AidDetail,
    summary="One aid, with its sanitised description",
    description="Aids no longer listed by Aides-territoires stay readable, with `is_live` false.",
    responses=problem_responses(404),
)
async def get_aid(aid_id: AidId, session: SessionDep) -> AidDetail:
    return await service.get_aid(session, aid_id)


# Funding of an action: the aids module's read of an action (through `actions.service.funding_target`).
FUNDING_TEXT = """
The live aids of the catalogue that serve the action's levers (main and others, by the lever mapping,
`/aids/lever-mapping`) and are available to its territory (see `GET /aids`; a CRTE's action looks at its
région), restricted to its carriers' types where they are known (a collectivité carrier by its level, an
association or a company by its kind, another organisation when its name says it, « Commune de… »: the aid
targets one of them, or no one in particular). Ranked: the aids whose perimeter covers the whole territory
first (`coverage` `whole`), then those of a perimeter inside it or overlapping it; within each, the soonest
deadline first, permanent ones last. Beside the page, `support_measures`: the support measures in force for
its levers (the nation's, its région's and its département's catalogues). An action without a lever has
none. An action the caller may not see is a 404, as for its read.
"""
funding_router = APIRouter(
    prefix="/actions",
    tags=["aids"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)


@funding_router.get(
    "/{action_id}/funding",
    response_model=ActionFunding,
    summary="What may fund an action: aids and support measures",
    description=" ".join(FUNDING_TEXT.split()),
    responses=problem_responses(404, 422, 502, 503, 504),
)
async def get_action_funding(
    action_id: uuid.UUID, session: SessionDep, regions: VisibleRegions, page: PageDep, levers: LeversDep
) -> ActionFunding:
    return await service.action_funding(session, action_id, regions=regions, params=page, levers=levers)
