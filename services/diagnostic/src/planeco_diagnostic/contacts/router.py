"""Contacts of the collectivités (personal data: only those in charge of their territory read them)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from planeco_diagnostic.contacts import service
from planeco_diagnostic.contacts.schemas import ContactCreate, ContactFilters, ContactRead, ContactUpdate
from planeco_diagnostic.contacts.service import ContactImportResult
from planeco_diagnostic.db import IdempotencyKey
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, etag
from planeco_shared.database import SessionDep
from planeco_shared.history import HistoryEntry
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import Principal, RequireRole, Role, require_authenticated
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, ScopesDep
from planeco_shared.sheets import SHEET_MEDIA_TYPES, sheet_request_body
from planeco_shared.tabular import add_export_route, ascii_filename
from planeco_shared.uploads import media_type, read_upload

router = APIRouter(
    prefix="/contacts",
    tags=["contacts"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)

# Contacts are personal data: readers (national, read-only) do not see them.
Holder = Annotated[Principal, Depends(RequireRole(Role.coordinator, Role.contributor))]

MAX_IMPORT_BYTES = 5 * 1024 * 1024
SCOPE_TEXT = (
    "Admins see every contact, a coordinator those of its territory (région or département), a contributor "
    "those of its own collectivité; readers none (403). A contact outside one's scope is a 404."
)
FILE_FORMAT = (
    "Columns (header row, names compared without case, accents or spaces): `collectivite_level` "
    "(`region`, `departement`, `epci`, `commune`), `collectivite` (INSEE code, SIREN for an EPCI), `email`, "
    "and optionally `name`, `function`, `primary` (`true`/`false`, `oui`/`non`; empty: unchanged) and "
    "`collectivite_name` (ignored: the levers service names it). CSV in UTF-8 (`;` or `,`), or XLSX (first "
    "sheet, or the one named `data`); the `#` lines an export starts with are skipped. At most 5,000 rows "
    "and 5 MiB."
)


@router.post(
    "",
    response_model=ContactRead,
    status_code=status.HTTP_201_CREATED,
    summary="Add a contact to a collectivité",
    description="The collectivité is checked against the levers service (a 422 naming `collectivite` when "
    "unknown), and must lie in the caller's territory (403). 409 when the collectivité already has this "
    "e-mail. A collectivité's first contact is its primary one. Send `Idempotency-Key` to retry safely.",
    responses=problem_responses(409, 422, 503),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_contact(
    data: ContactCreate, request: Request, session: SessionDep, principal: Holder, levers: LeversDep
) -> Response:
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    contact = await service.create_contact(session, data=data, principal=principal, levers=levers)
    headers = {"Location": f"/api/v1/contacts/{contact.id}", "ETag": etag(contact.id, contact.version)}
    return await create.respond(ContactRead.model_validate(contact), status_code=201, headers=headers)


@router.get(
    "",
    response_model=Page[ContactRead],
    summary="List contacts",
    description=SCOPE_TEXT + " Filter by région or département (everything that lies in it), level or "
    "collectivité. Sorted by région, département, collectivité, primary first, then e-mail.",
)
async def list_contacts(
    session: SessionDep,
    principal: Holder,
    scopes: ScopesDep,
    page: PageDep,
    filters: Annotated[ContactFilters, Query()],
) -> Page[ContactRead]:
    return await service.list_contacts(session, filters, principal=principal, scopes=scopes, params=page)


async def _contacts_for_export(
    session: SessionDep, principal: Holder, scopes: ScopesDep, filters: Annotated[ContactFilters, Query()]
) -> list[ContactRead]:
    return await service.all_contacts(session, filters, principal=principal, scopes=scopes)


add_export_route(
    router,
    "",
    _contacts_for_export,
    name="export_contacts",
    summary="The contacts as a CSV or XLSX file",
    description="What `listContacts` shows (every page, at most 50,000 rows), in the columns "
    "`importContacts` reads: the file re-imports unchanged. " + SCOPE_TEXT,
    filename=lambda _view, arguments: ascii_filename(
        "planeco-contacts"
        + "".join(f"-{value}" for value in arguments["filters"].model_dump(mode="json").values() if value)
    ),
    table=service.contacts_table,
)


@router.post(
    "/imports",
    response_model=ContactImportResult,
    summary="Add or update contacts from a CSV or XLSX file",
    description="All or nothing: any row error is a 422 listing every error by row and column, and nothing "
    "is changed. Idempotent by (collectivité, e-mail): a known contact gets the row's name, function and "
    "primary flag; the same file twice changes nothing. A row marked primary makes the collectivité's other "
    "contacts not primary. Each collectivité is checked once against the levers service and must lie in the "
    "caller's territory.\n\n" + FILE_FORMAT,
    responses=problem_responses(413, 415, 422, 503),
    openapi_extra=sheet_request_body(
        "collectivite_level;collectivite;email;name;function;primary\n"
        "departement;45;c.martin@loiret.fr;Camille Martin;Chargée de mission;true\n"
    ),
)
async def import_contacts(
    request: Request, session: SessionDep, principal: Holder, levers: LeversDep
) -> ContactImportResult:
    content = await read_upload(
        request, media_types=SHEET_MEDIA_TYPES, max_bytes=MAX_IMPORT_BYTES, what="the CSV or XLSX file"
    )
    return await service.import_contacts(
        session, content, media_type(request), principal=principal, levers=levers
    )


@router.get(
    "/{contact_id}",
    response_model=ContactRead,
    summary="One contact",
    description=SCOPE_TEXT,
    responses=problem_responses(404),
)
async def get_contact(
    contact_id: uuid.UUID, session: SessionDep, principal: Holder, scopes: ScopesDep, response: Response
) -> ContactRead:
    contact = await service.get_contact(session, contact_id, principal=principal, scopes=scopes)
    response.headers["ETag"] = etag(contact.id, contact.version)
    return ContactRead.model_validate(contact)


@router.patch(
    "/{contact_id}",
    response_model=ContactRead,
    summary="Change a contact (If-Match required)",
    description="Setting `primary` makes the collectivité's other contacts not primary. 409 when the "
    "collectivité already has the new e-mail.",
    responses=problem_responses(404, 409, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_contact(
    contact_id: uuid.UUID,
    data: ContactUpdate,
    request: Request,
    session: SessionDep,
    principal: Holder,
    scopes: ScopesDep,
    response: Response,
) -> ContactRead:
    contact = await service.get_contact(session, contact_id, principal=principal, scopes=scopes)
    check_if_match(request, etag(contact.id, contact.version))
    contact = await service.update_contact(session, contact, data=data, principal=principal)
    response.headers["ETag"] = etag(contact.id, contact.version)
    return ContactRead.model_validate(contact)


@router.delete(
    "/{contact_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a contact (If-Match required)",
    description="Personal data: the contact is erased, not archived. Its history keeps a `delete` entry "
    "(who, when), not what it held.",
    responses=problem_responses(404, 412, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def delete_contact(
    contact_id: uuid.UUID, request: Request, session: SessionDep, principal: Holder, scopes: ScopesDep
) -> Response:
    contact = await service.get_contact(session, contact_id, principal=principal, scopes=scopes)
    check_if_match(request, etag(contact.id, contact.version))
    await service.delete_contact(session, contact, principal=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{contact_id}/history",
    response_model=Page[HistoryEntry],
    summary="Who changed this contact, when, old → new",
    description="Newest first. Fields: `level`, `code`, `collectivite_name`, `region_code`, "
    "`departement_code`, `email`, `name`, `function`, `is_primary`. The creation (`create`, or `import`) "
    "lists every field it set; an update or an import, every field it changed.",
    responses=problem_responses(404),
)
async def get_contact_history(
    contact_id: uuid.UUID, session: SessionDep, principal: Holder, scopes: ScopesDep, page: PageDep
) -> Page[HistoryEntry]:
    await service.get_contact(session, contact_id, principal=principal, scopes=scopes)
    return await service.contact_history(session, contact_id, params=page)
