"""COP actions of the roadmaps."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from planeco_actions.actions import imports, service, sheet
from planeco_actions.actions.schemas import (
    ActionCreate,
    ActionFilters,
    ActionImportReport,
    ActionRead,
    ActionUpdate,
    ImpactRecompute,
    PanoramaVersion,
)
from planeco_actions.db import IdempotencyKey
from planeco_shared.archive import IncludeArchived, add_archive_routes
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, etag
from planeco_shared.database import SessionDep
from planeco_shared.history import HistoryEntry
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import PUBLIC, AnyCaller, Principal, RequireRole, Role, require_authenticated
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, VisibleRegions
from planeco_shared.sheets import SHEET_MEDIA_TYPES, sheet_request_body
from planeco_shared.tabular import RepresentationDep, file_responses, tabular_response
from planeco_shared.uploads import media_type, read_upload

router = APIRouter(
    prefix="/actions",
    tags=["actions"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)

# Published actions are open data: their reads are public, on a router of their own.
public_router = APIRouter(prefix="/published-actions", tags=["actions"])

Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]
# Contributors propose actions for their own collectivité (always `proposee`, never published) and change
# them while they are proposals; coordinators accept (`retenue`) or refuse (`abandonnee`) them.
Writer = Annotated[Principal, Depends(RequireRole(Role.coordinator, Role.contributor))]


@router.post(
    "",
    response_model=ActionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a COP action",
    description="The territory (a région, département, EPCI, CRTE or commune, by its official code), the "
    "levers and the collectivités named as carriers or partners must exist in the levers service (422 "
    "naming the field otherwise); 503 or 504 when it cannot be asked. A coordinator records actions on "
    "its territory and what lies in it (403 otherwise); a contributor proposes actions for its own "
    "collectivité: their `status` is `proposee` and `published` false, whatever the body says. 422 too "
    "when the calendar contradicts itself (an end before the start, a phase outside the calendar) or a "
    "financer has two budget lines in one year; "
    "409 `duplicate-external-id` when another action of the same territory has the `external_id`. "
    "`impacts`: per lever of the action, `ktco2e` or `physical` (the change in the lever's unit); the other "
    "is derived with the levers service's factors for the action's région at `version` (the latest when "
    "omitted) and stored with it; levers with an intensive unit (kg/hab, L/100 km…) or none take ktCO2e "
    "only (422). Send "
    "`Idempotency-Key` to retry safely.",
    responses=problem_responses(409, 422, 502, 503, 504),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_action(
    data: ActionCreate, request: Request, session: SessionDep, principal: Writer, levers: LeversDep
) -> Response:
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    action = await service.create_action(session, data=data, principal=principal, levers=levers)
    headers = {"Location": f"/api/v1/actions/{action.id}", "ETag": etag(action.id, action.version)}
    return await create.respond(ActionRead.of(action), status_code=201, headers=headers)


@router.get(
    "",
    response_model=Page[ActionRead],
    summary="List COP actions",
    description="Only the actions of the régions the caller may see: all for admins and readers, those of "
    "their région for coordinators and contributors. `region` and `departement` keep the actions on any "
    "territory inside them; `lever_id` matches the main lever or another one.",
)
async def list_actions(
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[ActionFilters, Query()],
    include_archived: IncludeArchived,
) -> Page[ActionRead]:
    return await service.list_actions(
        session, filters=filters, regions=regions, params=page, include_archived=include_archived
    )


MAX_FILE_BYTES = 20 * 1024 * 1024


@router.post(
    "/imports",
    response_model=ActionImportReport,
    summary="Import a roadmap file: one row per action (CSV or XLSX)",
    description="Coordinators import the actions of their territory (and what lies in it), admins any; "
    "a row on a territory outside the caller's is a 403 listing those rows, and nothing changes. "
    "A row names its action by planeco `id` when it has one (the export writes it, so that actions "
    "without an external id, recorded through the API, by contributors or from a proposal, re-import): "
    "that action must exist on the caller's territory and on the row's `territory`, else a row error; "
    "a row without `id` names it by its territory and `external_id` (required then). Idempotent: the "
    "same file again changes nothing (no audit entry, no new revision); a changed row updates its action "
    "(audited `update`); a new one (no `id`, an `external_id` unknown on its territory) creates it "
    "(audited `create`, with the status the row gives); a row naming an archived action restores it. "
    "Actions the file leaves out are left as they are. All or nothing: any invalid row and nothing "
    "changes; the 422 `invalid-roadmap-file` lists every error (up to 200) as "
    '`errors: [{loc: ["row", <n>, <column>], msg, type}]`, rows numbered as in the spreadsheet. Each '
    "row is checked as `createAction` checks a body (territory, levers and collectivités in the levers "
    "service, calendar, budget lines, cited aids, impacts converted the same way). "
    "`GET /actions/export` writes the same columns.\n\n" + sheet.IMPORT_FORMAT,
    responses=problem_responses(409, 413, 415, 422, 502, 503, 504),
    openapi_extra=sheet_request_body(sheet.EXAMPLE),
)
async def import_actions(
    request: Request, session: SessionDep, principal: Manager, levers: LeversDep
) -> ActionImportReport:
    content = await read_upload(
        request, media_types=SHEET_MEDIA_TYPES, max_bytes=MAX_FILE_BYTES, what="a CSV or XLSX file"
    )
    return await imports.import_actions(
        session, content, media_type(request), principal=principal, levers=levers
    )


@router.get(
    "/export",
    summary="The COP actions as a roadmap file (CSV or XLSX), in the columns of the import",
    description="The actions `listActions` lists with the same filters (not archived; those of the "
    "régions the caller may see), all of them in one file (at most 10,000: a 422 `export-too-large` asks "
    "to narrow it down), one row per action in the columns `importActions` reads, its planeco `id` "
    "among them (actions without an external id too): the file imported again changes nothing. The "
    "file's metadata give the filters, the source and the licence (Licence Ouverte 2.0).",
    response_class=Response,
    responses=file_responses("The actions as a CSV or XLSX file") | problem_responses(422),
)
async def export_actions(
    request: Request,
    session: SessionDep,
    regions: VisibleRegions,
    filters: Annotated[ActionFilters, Query()],
    representation: RepresentationDep,
) -> Response:
    actions = await imports.export_actions(session, filters=filters, regions=regions)
    return await tabular_response(
        request,
        representation,
        filename="planeco-actions",
        build=lambda: imports.export_table(actions, filters),
    )


@router.get(
    "/{action_id}",
    response_model=ActionRead,
    summary="One COP action",
    description="404 when the caller may not see it (another région's), or when it is archived (unless "
    "include_archived).",
    responses=problem_responses(404),
)
async def get_action(
    action_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    include_archived: IncludeArchived,
    response: Response,
) -> ActionRead:
    action = await service.get_action(session, action_id, regions=regions, include_archived=include_archived)
    response.headers["ETag"] = etag(action.id, action.version)
    return ActionRead.of(action)


@router.patch(
    "/{action_id}",
    response_model=ActionRead,
    summary="Change a COP action (If-Match required)",
    description="The same checks as the creation, on the resulting action (409 `duplicate-external-id`). "
    "A coordinator accepts a proposal (`status: retenue`) or refuses it (`abandonnee`); a contributor "
    "changes its collectivité's proposals while they are `proposee`, never their `status` or `published` "
    "(403).",
    responses=problem_responses(404, 409, 412, 422, 428, 502, 503, 504),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_action(
    action_id: uuid.UUID,
    data: ActionUpdate,
    request: Request,
    session: SessionDep,
    principal: Writer,
    regions: VisibleRegions,
    levers: LeversDep,
    response: Response,
) -> ActionRead:
    # Visibility (404) and scope (403) before the precondition: a caller who may not change the action
    # learns nothing from a 428 or 412.
    action = await service.action_to_change(session, action_id, principal=principal, regions=regions)
    check_if_match(request, etag(action.id, action.version))
    action = await service.update_action(session, action, data=data, principal=principal, levers=levers)
    response.headers["ETag"] = etag(action.id, action.version)
    return ActionRead.of(action)


add_archive_routes(
    router,
    "/{action_id}",
    name="action",
    label="a COP action",
    to_change=service.action_to_change,
    set_archived=service.set_archived,
    read_model=ActionRead,
    manager=Manager,
    archive_description=(
        "An action is part of an audited roadmap: it is archived, not erased. It then reads as 404 and "
        "leaves the lists, except with include_archived (coordinators, admins); its history keeps an "
        "`archive` entry; `POST …/restore` brings it back. 409 when already archived."
    ),
    restore_description=(
        "The ETag of the archived action (read with include_archived=true). 409 when not archived."
    ),
)


@router.post(
    "/{action_id}/impacts/recompute",
    response_model=ImpactRecompute,
    summary="Convert the action's impacts again at another panorama version (If-Match required)",
    description="Each impact keeps the quantity entered (ktCO2e or physical) and derives the other with the "
    "factors of `version` for the action's région; the answer lists every lever old → new. Impacts never "
    "move otherwise when a version is imported. Audited as `recompute`. 422 naming `version` when a lever "
    "is not in that version (or the version does not exist), or naming the impact the new factors refuse.",
    responses=problem_responses(404, 412, 422, 428, 502, 503, 504),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def recompute_impacts(
    action_id: uuid.UUID,
    version: Annotated[PanoramaVersion, Query(description="The panorama version to convert with")],
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    levers: LeversDep,
    response: Response,
) -> ImpactRecompute:
    action = await service.action_to_change(session, action_id, principal=principal, regions=regions)
    check_if_match(request, etag(action.id, action.version))
    result = await service.recompute_impacts(
        session, action, version=version, principal=principal, levers=levers
    )
    response.headers["ETag"] = etag(action.id, action.version)
    return result


@router.get(
    "/{action_id}/history",
    response_model=Page[HistoryEntry],
    summary="Who changed this action, when, old → new",
    description="Newest first. The creation lists every field it set (null → value); an update, every field "
    "it changed. Values are JSON: decimals and dates as strings, lists (carriers, phases, budget lines…) "
    "as the reads show them; the territory as `territory_level`, `territory_code`, `region_code`, "
    "`departement_code`; null for no value.",
    responses=problem_responses(404),
)
async def get_action_history(
    action_id: uuid.UUID, session: SessionDep, regions: VisibleRegions, page: PageDep
) -> Page[HistoryEntry]:
    return await service.action_history(session, action_id, regions=regions, params=page)


@public_router.get(
    "",
    response_model=Page[ActionRead],
    summary="List published COP actions (public)",
    description="The actions a coordinator published (`published: true`, not archived), of every région: "
    "open data. The same filters as the list of actions.",
    openapi_extra=PUBLIC,
)
async def list_published_actions(
    session: SessionDep,
    _caller: AnyCaller,
    page: PageDep,
    filters: Annotated[ActionFilters, Query()],
) -> Page[ActionRead]:
    return await service.list_published_actions(session, filters=filters, params=page)


@public_router.get(
    "/{action_id}",
    response_model=ActionRead,
    summary="One published COP action (public)",
    description="404 when it is not published (or archived).",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
)
async def get_published_action(action_id: uuid.UUID, session: SessionDep, _caller: AnyCaller) -> ActionRead:
    return ActionRead.of(await service.get_published_action(session, action_id))
