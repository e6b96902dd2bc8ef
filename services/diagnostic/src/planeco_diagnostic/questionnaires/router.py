"""Questionnaire templates of the diagnostic."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from planeco_diagnostic.db import IdempotencyKey
from planeco_diagnostic.questionnaires import service
from planeco_diagnostic.questionnaires.models import QuestionnaireStatus
from planeco_diagnostic.questionnaires.schemas import (
    QuestionnaireCreate,
    QuestionnaireRead,
    QuestionnaireUpdate,
)
from planeco_shared.archive import IncludeArchived
from planeco_shared.codes import REGION_PATTERN
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, etag
from planeco_shared.database import SessionDep
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import Authenticated, Principal, RequireRole, Role, require_authenticated
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses

router = APIRouter(
    prefix="/questionnaires",
    tags=["questionnaires"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)

Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]


@router.post(
    "",
    response_model=QuestionnaireRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a questionnaire template",
    description="Send `Idempotency-Key` to retry safely.",
    responses=problem_responses(409, 422),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_questionnaire(
    data: QuestionnaireCreate, request: Request, session: SessionDep, principal: Manager
) -> Response:
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    questionnaire = await service.create_questionnaire(session, data=data, principal=principal)
    headers = {
        "Location": f"/api/v1/questionnaires/{questionnaire.id}",
        "ETag": etag(questionnaire.id, questionnaire.version),
    }
    return await create.respond(
        QuestionnaireRead.model_validate(questionnaire), status_code=201, headers=headers
    )


@router.get("", response_model=Page[QuestionnaireRead], summary="List questionnaire templates")
async def list_questionnaires(
    session: SessionDep,
    _principal: Authenticated,
    page: PageDep,
    include_archived: IncludeArchived,
    region: Annotated[
        str | None, Query(pattern=REGION_PATTERN, description="Only this région's templates")
    ] = None,
    status: Annotated[QuestionnaireStatus | None, Query(description="Only templates in this status")] = None,
) -> Page[QuestionnaireRead]:
    return await service.list_questionnaires(
        session, region=region, status=status, params=page, include_archived=include_archived
    )


@router.get(
    "/{questionnaire_id}",
    response_model=QuestionnaireRead,
    summary="One questionnaire template",
    description="404 when archived, unless include_archived.",
    responses=problem_responses(404),
)
async def get_questionnaire(
    questionnaire_id: uuid.UUID,
    session: SessionDep,
    _principal: Authenticated,
    include_archived: IncludeArchived,
    response: Response,
) -> QuestionnaireRead:
    questionnaire = await service.get_questionnaire(
        session, questionnaire_id, include_archived=include_archived
    )
    response.headers["ETag"] = etag(questionnaire.id, questionnaire.version)
    return QuestionnaireRead.model_validate(questionnaire)


@router.patch(
    "/{questionnaire_id}",
    response_model=QuestionnaireRead,
    summary="Change a questionnaire template (If-Match required)",
    responses=problem_responses(404, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_questionnaire(
    questionnaire_id: uuid.UUID,
    data: QuestionnaireUpdate,
    request: Request,
    session: SessionDep,
    principal: Manager,
    response: Response,
) -> QuestionnaireRead:
    # Scope (403) before the precondition: a caller who may not change it learns nothing from a 428 or 412.
    questionnaire = await service.questionnaire_to_change(session, questionnaire_id, principal=principal)
    check_if_match(request, etag(questionnaire.id, questionnaire.version))
    questionnaire = await service.update_questionnaire(session, questionnaire, data=data, principal=principal)
    response.headers["ETag"] = etag(questionnaire.id, questionnaire.version)
    return QuestionnaireRead.model_validate(questionnaire)


@router.delete(
    "/{questionnaire_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Archive a questionnaire template (If-Match required)",
    description="Archived, not erased (campaigns and the audit trail refer to it): it then reads as 404 and "
    "leaves the lists, except with include_archived (coordinators, admins); `POST …/restore` brings it back. "
    "409 when already archived.",
    responses=problem_responses(404, 409, 412, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def archive_questionnaire(
    questionnaire_id: uuid.UUID, request: Request, session: SessionDep, principal: Manager
) -> Response:
    questionnaire = await service.questionnaire_to_change(session, questionnaire_id, principal=principal)
    check_if_match(request, etag(questionnaire.id, questionnaire.version))
    await service.set_archived(session, questionnaire, True, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{questionnaire_id}/restore",
    response_model=QuestionnaireRead,
    summary="Restore an archived questionnaire template (If-Match required)",
    description="The ETag of the archived template (read with include_archived=true). 409 when not archived.",
    responses=problem_responses(404, 409, 412, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def restore_questionnaire(
    questionnaire_id: uuid.UUID, request: Request, session: SessionDep, principal: Manager, response: Response
) -> QuestionnaireRead:
    questionnaire = await service.questionnaire_to_change(
        session, questionnaire_id, principal=principal, include_archived=True
    )
    check_if_match(request, etag(questionnaire.id, questionnaire.version))
    questionnaire = await service.set_archived(session, questionnaire, False, principal=principal)
    response.headers["ETag"] = etag(questionnaire.id, questionnaire.version)
    return QuestionnaireRead.model_validate(questionnaire)
