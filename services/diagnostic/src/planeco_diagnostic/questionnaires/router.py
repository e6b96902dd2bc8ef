"""Questionnaire templates of the diagnostic: metadata, the whole document (read, replace, import,
export), editions and lock, and the document's JSON Schema."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.db import IdempotencyKey
from planeco_diagnostic.questionnaires import service
from planeco_diagnostic.questionnaires.document import (
    MAX_DOCUMENT_BYTES,
    QuestionnaireDocument,
    document_json_schema,
    parse_document,
)
from planeco_diagnostic.questionnaires.models import Questionnaire
from planeco_diagnostic.questionnaires.schemas import (
    Owner,
    QuestionnaireCreate,
    QuestionnaireFilters,
    QuestionnaireRead,
    QuestionnaireUpdate,
)
from planeco_shared.archive import IncludeArchived, add_archive_routes
from planeco_shared.codes import DEPARTEMENT_PATTERN
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, etag
from planeco_shared.database import SessionDep
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import PUBLIC, AnyCaller, Authenticated, Principal, RequireRole, Role
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import FieldError, UnprocessableEntity, problem_responses
from planeco_shared.runtime import LeversDep
from planeco_shared.uploads import JSON_MEDIA_TYPES, read_upload

router = APIRouter(prefix="/questionnaires", tags=["questionnaires"], responses=problem_responses(401, 403))

Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]

DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "A questionnaire document (format `planeco-questionnaire/1`; its JSON Schema: "
        "`GET /questionnaires/document-schema`)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/QuestionnaireDocument"}}},
    }
}
LEVER_ERRORS = (404, 422, 502, 503, 504)


def _location(questionnaire: Questionnaire) -> dict[str, str]:
    return {
        "Location": f"/api/v1/questionnaires/{questionnaire.id}",
        "ETag": etag(questionnaire.id, questionnaire.version),
    }


async def _document_body(request: Request) -> QuestionnaireDocument:
    content = await read_upload(
        request, media_types=JSON_MEDIA_TYPES, max_bytes=MAX_DOCUMENT_BYTES, what="a questionnaire document"
    )
    return parse_document(content)


@router.get(
    "/document-schema",
    response_model=dict[str, Any],
    summary="The JSON Schema of a questionnaire document",
    description="JSON Schema 2020-12 of the format `planeco-questionnaire/1` (the body of "
    "`POST /questionnaires/imports` and `PUT /questionnaires/{questionnaire_id}/document`, the answer of "
    "`GET /questionnaires/{questionnaire_id}/document`), generated from the service's model; the same as "
    "`contract/questionnaire-document.schema.json`. Public.",
    responses={200: {"content": {"application/json": {"example": {"title": "QuestionnaireDocument"}}}}},
    openapi_extra=PUBLIC,
)
async def get_questionnaire_document_schema(_caller: AnyCaller) -> dict[str, Any]:
    return document_json_schema()


@router.post(
    "",
    response_model=QuestionnaireRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create an empty questionnaire draft",
    description="Owned by the nation (admins), a région or a département (its coordinators and those of its "
    "région). Fill it with `PUT …/document`, or import a whole document with `POST /questionnaires/imports`. "
    "Send `Idempotency-Key` to retry safely.",
    responses=problem_responses(409, *LEVER_ERRORS),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_questionnaire(
    data: QuestionnaireCreate, request: Request, session: SessionDep, principal: Manager, levers: LeversDep
) -> Response:
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    questionnaire = await service.create_questionnaire(session, data=data, principal=principal, levers=levers)
    return await create.respond(
        QuestionnaireRead.of(questionnaire), status_code=201, headers=_location(questionnaire)
    )


@router.post(
    "/imports",
    response_model=QuestionnaireRead,
    status_code=status.HTTP_201_CREATED,
    summary="Import a whole questionnaire document as a new draft",
    description="All or nothing: every error of the document is listed (`errors[].loc` is its JSON path, "
    "after `body`: `['body', 'sections', 2, 'lever_ids', 0]`) and nothing is saved; the levers are checked "
    "against the levers service. The owner is given in the query (none: national, admins only). Send "
    "`Idempotency-Key` to retry safely.",
    responses=problem_responses(409, 413, 415, *LEVER_ERRORS),
    openapi_extra=IDEMPOTENCY_KEY | DOCUMENT_BODY,
)
async def import_questionnaire(
    request: Request,
    session: SessionDep,
    principal: Manager,
    levers: LeversDep,
    owner_level: Annotated[
        Literal["region", "departement"] | None,
        Query(description="Level of the owning territory; omitted: a national questionnaire"),
    ] = None,
    owner_code: Annotated[
        str | None,
        Query(pattern=DEPARTEMENT_PATTERN, description="INSEE code of the owning région or département"),
    ] = None,
) -> Response:
    owner = _owner_of(owner_level, owner_code)
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    document = await _document_body(request)
    questionnaire = await service.import_document(
        session, document, owner=owner, principal=principal, levers=levers, owner_loc=["query", "owner"]
    )
    return await create.respond(
        QuestionnaireRead.of(questionnaire), status_code=201, headers=_location(questionnaire)
    )


def _owner_of(level: str | None, code: str | None) -> Owner | None:
    if level is None and code is None:
        return None
    if level is None or code is None:
        missing = "owner_level" if level is None else "owner_code"
        raise UnprocessableEntity(
            "Give both owner_level and owner_code, or neither (national)",
            errors=[FieldError(loc=["query", missing], msg="Required with the other", type="missing")],
        )
    try:
        return Owner(level=level, code=code)
    except ValidationError as error:
        raise UnprocessableEntity(
            "The owner is invalid",
            errors=[
                FieldError(loc=["query", "owner_code"], msg=e["msg"], type=e["type"]) for e in error.errors()
            ],
        ) from None


@router.get("", response_model=Page[QuestionnaireRead], summary="List questionnaire templates")
async def list_questionnaires(
    session: SessionDep,
    _principal: Authenticated,
    page: PageDep,
    include_archived: IncludeArchived,
    filters: Annotated[QuestionnaireFilters, Query()],
) -> Page[QuestionnaireRead]:
    return await service.list_questionnaires(session, filters, params=page, include_archived=include_archived)


@router.get(
    "/{questionnaire_id}",
    response_model=QuestionnaireRead,
    summary="One questionnaire template",
    description="Its metadata; its content is `GET …/document`. 404 when archived, unless include_archived.",
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
    return QuestionnaireRead.of(questionnaire)


@router.get(
    "/{questionnaire_id}/document",
    response_model=QuestionnaireDocument,
    summary="A questionnaire's whole document (the export)",
    description="The format `planeco-questionnaire/1`, every field written out: importing it gives the same "
    "document again. The ETag is the questionnaire's (for `PUT …/document`).",
    responses=problem_responses(404),
)
async def export_questionnaire_document(
    questionnaire_id: uuid.UUID,
    session: SessionDep,
    _principal: Authenticated,
    include_archived: IncludeArchived,
) -> Response:
    questionnaire = await service.get_questionnaire(
        session, questionnaire_id, include_archived=include_archived
    )
    document = service.export_document(questionnaire)
    return JSONResponse(
        document.model_dump(mode="json"), headers={"ETag": etag(questionnaire.id, questionnaire.version)}
    )


@router.put(
    "/{questionnaire_id}/document",
    response_model=QuestionnaireRead,
    summary="Replace a draft's whole document (If-Match required)",
    description="While a draft: all or nothing, every error with its JSON path (as the import). 409 once "
    "locked (published or used by a campaign): make a new edition instead.",
    responses=problem_responses(409, 412, 413, 415, 428, *LEVER_ERRORS),
    openapi_extra=IF_MATCH_REQUIRED | DOCUMENT_BODY,
)
async def replace_questionnaire_document(
    questionnaire_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Manager,
    levers: LeversDep,
    response: Response,
) -> QuestionnaireRead:
    questionnaire = await service.questionnaire_to_change(session, questionnaire_id, principal=principal)
    check_if_match(request, etag(questionnaire.id, questionnaire.version))
    document = await _document_body(request)
    questionnaire = await service.replace_document(
        session, questionnaire, document, principal=principal, levers=levers
    )
    response.headers["ETag"] = etag(questionnaire.id, questionnaire.version)
    return QuestionnaireRead.of(questionnaire)


@router.patch(
    "/{questionnaire_id}",
    response_model=QuestionnaireRead,
    summary="Change a questionnaire template (If-Match required)",
    description="`status: published` locks it (and needs at least one section). A locked one takes only a "
    "status between published and archived: anything else is a 409.",
    responses=problem_responses(404, 409, 412, 422, 428),
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
    return QuestionnaireRead.of(questionnaire)


@router.post(
    "/{questionnaire_id}/editions",
    response_model=QuestionnaireRead,
    status_code=status.HTTP_201_CREATED,
    summary="Make a new edition of a locked questionnaire",
    description="A draft copy in the same lineage (`lineage_id`), `edition` = this one's + 1, `previous_id` "
    "= this one. 409 when this one is still an unlocked draft or not the lineage's latest edition. Send "
    "`Idempotency-Key` to retry safely.",
    responses=problem_responses(404, 409),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_questionnaire_edition(
    questionnaire_id: uuid.UUID, request: Request, session: SessionDep, principal: Manager
) -> Response:
    questionnaire = await service.questionnaire_to_change(session, questionnaire_id, principal=principal)
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    edition = await service.new_edition(session, questionnaire, principal=principal)
    return await create.respond(QuestionnaireRead.of(edition), status_code=201, headers=_location(edition))


async def _questionnaire_to_change(
    session: AsyncSession,
    questionnaire_id: uuid.UUID,
    /,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> Questionnaire:
    """`service.questionnaire_to_change`: a template's owner decides who manages it, not the régions
    the caller sees (`regions` is not used)."""
    return await service.questionnaire_to_change(
        session, questionnaire_id, principal=principal, include_archived=include_archived
    )


add_archive_routes(
    router,
    "/{questionnaire_id}",
    name="questionnaire",
    label="a questionnaire template",
    to_change=_questionnaire_to_change,
    set_archived=service.set_archived,
    read_model=QuestionnaireRead,
    manager=Manager,
    archive_description=(
        "Archived, not erased (campaigns and the audit trail refer to it): it then reads as 404 and leaves "
        "the lists, except with include_archived (coordinators, admins); `POST …/restore` brings it back. "
        "409 when already archived."
    ),
    restore_description=(
        "The ETag of the archived template (read with include_archived=true). 409 when not archived."
    ),
)
