"""Support measures (dispositifs d'accompagnement): public reads by lever, imports by their owners."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from planeco_actions.support import service
from planeco_actions.support.schemas import (
    SupportFilters,
    SupportImportReport,
    SupportMeasureRead,
)
from planeco_shared.caching import public_cache
from planeco_shared.database import SessionDep
from planeco_shared.history import HistoryEntry
from planeco_shared.identity import PUBLIC, AnyCaller, Authenticated, Principal, RequireRole, Role
from planeco_shared.owners import OWNER_QUERY_PATTERN
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep
from planeco_shared.sheets import SHEET_MEDIA_TYPES, sheet_request_body
from planeco_shared.uploads import media_type, read_upload

router = APIRouter(prefix="/support-measures", tags=["support-measures"])

MeasureId = Annotated[uuid.UUID, Path(description="The measure's id")]
MAX_FILE_BYTES = 5 * 1024 * 1024
EXAMPLE = (
    "key;title;carrier;lever_ids;support_types;audiences\n"
    "fonds-vert-haies;Fonds vert : renaturation;État (DDT);haies;subvention|ingenierie;commune|epci\n"
)


@router.get(
    "",
    response_model=Page[SupportMeasureRead],
    summary="List support measures",
    description="The support measures of the State and other bodies (dispositifs d'accompagnement), "
    "by lever, "
    "kind and audience. Public. Archived ones (left out of their owner's last import) are not listed; "
    "each stays readable by its id.",
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def list_support_measures(
    session: SessionDep,
    _caller: AnyCaller,
    page: PageDep,
    filters: Annotated[SupportFilters, Query()],
) -> Page[SupportMeasureRead]:
    return await service.list_measures(session, filters=filters, params=page)


@router.post(
    "/imports",
    response_model=SupportImportReport,
    summary="Import an owner's whole catalogue of support measures (CSV or XLSX)",
    description="Admins import the national catalogue (`owner=nation`); a région's or a département's "
    "coordinators their territory's. Idempotent: the same file again changes nothing.\n\n"
    + service.IMPORT_FORMAT,
    responses=problem_responses(401, 403, 409, 413, 415, 422, 502, 503, 504),
    openapi_extra=sheet_request_body(EXAMPLE),
)
async def import_support_measures(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, Depends(RequireRole(Role.coordinator))],
    levers: LeversDep,
    owner: Annotated[
        str, Query(pattern=OWNER_QUERY_PATTERN, description="`nation`, `region:24` or `departement:45`")
    ] = "nation",
) -> SupportImportReport:
    content = await read_upload(
        request, media_types=SHEET_MEDIA_TYPES, max_bytes=MAX_FILE_BYTES, what="a CSV or XLSX file"
    )
    return await service.import_measures(
        session, content, media_type(request), owner=owner, principal=principal, levers=levers
    )


@router.get(
    "/{measure_id}",
    response_model=SupportMeasureRead,
    summary="Read a support measure",
    description="Public. An archived measure stays readable here.",
    responses=problem_responses(404),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)
async def get_support_measure(
    measure_id: MeasureId, session: SessionDep, _caller: AnyCaller
) -> SupportMeasureRead:
    return service.read_model(await service.get_measure(session, measure_id, include_archived=True))


@router.get(
    "/{measure_id}/history",
    response_model=Page[HistoryEntry],
    summary="History of a support measure",
    description="Who created, changed, archived or restored it, when, and what changed (old → new).",
    responses=problem_responses(401, 404),
)
async def get_support_measure_history(
    measure_id: MeasureId, session: SessionDep, _principal: Authenticated, page: PageDep
) -> Page[HistoryEntry]:
    return await service.measure_history(session, measure_id, page)
