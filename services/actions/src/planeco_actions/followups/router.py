"""Follow-up of the COP actions: dated progress updates, and the actions overdue for one."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from planeco_actions.actions import service as actions
from planeco_actions.db import IdempotencyKey
from planeco_actions.followups import service
from planeco_actions.followups.schemas import (
    OverdueActionRead,
    OverdueFilters,
    ProgressUpdateCreate,
    ProgressUpdateRead,
)
from planeco_shared.database import SessionDep
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import Principal, RequireRole, Role, require_authenticated
from planeco_shared.models import utcnow
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import VisibleRegions

router = APIRouter(
    prefix="/actions",
    tags=["follow-up"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)

# Whoever may write the action reports its progress (planeco_actions.actions.router.Writer).
Writer = Annotated[Principal, Depends(RequireRole(Role.coordinator, Role.contributor))]


@router.get(
    "/overdue",
    response_model=Page[OverdueActionRead],
    summary="The actions past a deadline with no progress update since, for reminders",
    description="Actions `retenue` or `en_cours` (not archived) whose latest deadline on or before `as_of` "
    "(today, UTC, when omitted): their end date, a phase's end or a milestone, has no progress update dated "
    "that day or later. Oldest deadline first. The actions the caller may read; filters by région and "
    "département.",
    responses=problem_responses(422),
)
async def list_overdue_actions(
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[OverdueFilters, Query()],
) -> Page[OverdueActionRead]:
    return await service.overdue(session, filters, regions=regions, params=page, today=utcnow().date())


@router.post(
    "/{action_id}/progress-updates",
    response_model=ProgressUpdateRead,
    status_code=status.HTTP_201_CREATED,
    summary="Report the progress of an action",
    description="A dated update (status, percentage done, indicator value in the main lever's unit, money "
    "spent, comment), kept for ever; the latest is the one the roadmap uses. Whoever may write the action: "
    "coordinators on their territory, contributors on their proposals (403 otherwise). A `status` other "
    "than the action's moves the action to it (coordinators only). 422 for an indicator value when the main "
    "lever has no impact in a physical unit. Send `Idempotency-Key` to retry safely.",
    responses=problem_responses(404, 409, 422),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_progress_update(
    action_id: uuid.UUID,
    data: ProgressUpdateCreate,
    request: Request,
    session: SessionDep,
    principal: Writer,
    regions: VisibleRegions,
) -> Response:
    action = await actions.action_to_change(session, action_id, principal=principal, regions=regions)
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    update = await service.add_update(session, action, data, principal=principal)
    headers = {"Location": f"/api/v1/actions/{action_id}/progress-updates/{update.id}"}
    return await create.respond(ProgressUpdateRead.model_validate(update), status_code=201, headers=headers)


@router.get(
    "/{action_id}/progress-updates",
    response_model=Page[ProgressUpdateRead],
    summary="The progress updates of an action, newest first",
    description="Its follow-up history: by date reported, then by when recorded.",
    responses=problem_responses(404, 422),
)
async def list_progress_updates(
    action_id: uuid.UUID, session: SessionDep, regions: VisibleRegions, page: PageDep
) -> Page[ProgressUpdateRead]:
    action = await actions.get_action(session, action_id, regions=regions, include_archived=True)
    return await service.list_updates(session, action, params=page)


@router.get(
    "/{action_id}/progress-updates/{update_id}",
    response_model=ProgressUpdateRead,
    summary="One progress update of an action",
    responses=problem_responses(404, 422),
)
async def get_progress_update(
    action_id: uuid.UUID, update_id: uuid.UUID, session: SessionDep, regions: VisibleRegions
) -> ProgressUpdateRead:
    action = await actions.get_action(session, action_id, regions=regions, include_archived=True)
    return ProgressUpdateRead.model_validate(await service.get_update(session, action, update_id))
