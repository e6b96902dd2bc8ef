"""Questionnaire templates: owned by a territory (national ones by admins, a région's or a département's
by the coordinators of that territory), with their content (sections → items, `document.py`), editions
and lock.

Rules: a draft is editable (its whole document, `replace_document`); publishing it or a campaign using
it locks it (`locked_at`), after which its content, title and description never change (409); a new
edition (`new_edition`) is a draft copy in the same lineage, edition = the previous one + 1, made from
the lineage's latest edition once that one is locked.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from cachetools import LRUCache
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.questionnaires.document import (
    QuestionnaireDocument,
    content_hash,
    lever_references,
    quantity_items,
    to_json,
    validate_document,
)
from planeco_diagnostic.questionnaires.models import Questionnaire, QuestionnaireStatus
from planeco_diagnostic.questionnaires.repository import QuestionnaireRepository
from planeco_diagnostic.questionnaires.schemas import (
    Owner,
    QuestionnaireCreate,
    QuestionnaireFilters,
    QuestionnaireRead,
    QuestionnaireUpdate,
)
from planeco_shared import archive, audit, owners
from planeco_shared.archive import is_hidden
from planeco_shared.clients.base import UpstreamNotFound
from planeco_shared.clients.levers import Lever, LeversClient
from planeco_shared.identity import Principal, Role
from planeco_shared.models import utcnow
from planeco_shared.owners import OwnerLevel
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import Conflict, FieldError, Forbidden, NotFound, UnprocessableEntity
from planeco_shared.scopes import Territory, ensure_may_act_on

ENTITY = "questionnaire"
FIELDS = [
    "title",
    "description",
    "owner_level",
    "owner_code",
    "respondent_types",
    "status",
    "locked_at",
    "content_hash",
    "lineage_id",
    "edition",
    "previous_id",
    "source",
]
# How many lever look-ups run at once when a document is checked.
LEVER_LOOKUPS = 8


def owner_territory(questionnaire: Questionnaire) -> Territory | None:
    """The owning territory (None: national)."""
    if questionnaire.owner_level is OwnerLevel.nation or questionnaire.owner_code is None:
        return None
    if questionnaire.owner_level is OwnerLevel.region:
        return Territory.region(questionnaire.owner_code)
    return Territory.departement(questionnaire.owner_code, region=questionnaire.owner_region or "")


def _ensure_can_manage(principal: Principal, territory: Territory | None) -> None:
    if territory is None:
        if principal.role is not Role.admin:
            raise Forbidden("Only national admins manage national questionnaire templates")
        return
    ensure_may_act_on(principal, territory)


async def resolve_owner(
    owner: Owner | None, *, levers: LeversClient, loc: Sequence[str | int]
) -> tuple[OwnerLevel, str | None, str | None]:
    """(level, code, région) of an owner, checked against the levers service's territories (422 naming
    `loc` when it names no territory): `planeco_shared.owners.resolve_owner`."""
    resolved = await owners.resolve_owner(owner, levers=levers, loc=loc)
    return resolved.level, resolved.code, resolved.region


async def check_levers(
    document: QuestionnaireDocument, *, levers: LeversClient, prefix: Sequence[str | int] = ("body",)
) -> None:
    """Every lever the document names exists in the levers service (422 at each path naming an unknown
    one), and each quantity's lever has a physical unit to convert from."""
    references = lever_references(document)
    semaphore = asyncio.Semaphore(LEVER_LOOKUPS)

    async def lookup(lever_id: str) -> Lever | None:
        async with semaphore:
            try:
                return await levers.get_lever(lever_id)
            except UpstreamNotFound:
                return None

    ids = list(references)
    found = dict(zip(ids, await asyncio.gather(*(lookup(i) for i in ids)), strict=True))
    errors: list[FieldError] = [
        FieldError(
            loc=[*prefix, *loc], msg=f"No lever {lever_id!r} exists in the levers service", type="not_found"
        )
        for lever_id, locs in references.items()
        if found[lever_id] is None
        for loc in locs
    ]
    for loc, lever_id in quantity_items(document):
        lever = found.get(lever_id)
        if lever is not None and not lever.has_physical_unit:
            errors.append(
                FieldError(
                    loc=[*prefix, *loc],
                    msg=f"The lever {lever_id!r} has no physical unit: its quantity cannot be converted",
                    type="no_physical_unit",
                )
            )
    if errors:
        raise UnprocessableEntity(
            "The questionnaire document names levers it cannot use; see `errors`.", errors=errors
        )


def _set_content(questionnaire: Questionnaire, document: QuestionnaireDocument) -> None:
    data = to_json(document)
    questionnaire.title = document.title
    questionnaire.description = document.description
    questionnaire.respondent_types = data["respondent_types"]
    questionnaire.sections = data["sections"]
    questionnaire.content_hash = content_hash(document)


def export_document(questionnaire: Questionnaire) -> QuestionnaireDocument:
    """The questionnaire's document (the export: the canonical JSON it was saved as)."""
    return QuestionnaireDocument.model_validate(
        {
            "format": "planeco-questionnaire/1",
            "title": questionnaire.title,
            "description": questionnaire.description,
            "respondent_types": questionnaire.respondent_types,
            "sections": questionnaire.sections,
        }
    )


def _record_create(
    session: AsyncSession, questionnaire: Questionnaire, principal: Principal, action: str
) -> None:
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action=action,
        entity_type=ENTITY,
        entity_id=str(questionnaire.id),
        changes=audit.snapshot(questionnaire, FIELDS),
    )


async def create_questionnaire(
    session: AsyncSession, *, data: QuestionnaireCreate, principal: Principal, levers: LeversClient
) -> Questionnaire:
    """An empty draft owned by `data.owner`."""
    # Through the document's own validation: what the document refuses is a 422 here too.
    document = validate_document(
        {
            "format": "planeco-questionnaire/1",
            "title": data.title,
            "description": data.description,
            "respondent_types": [t.value for t in data.respondent_types],
            "sections": [],
        }
    )
    return await import_document(
        session, document, owner=data.owner, principal=principal, levers=levers, action="create"
    )


async def import_document(
    session: AsyncSession,
    document: QuestionnaireDocument,
    *,
    owner: Owner | None,
    principal: Principal,
    levers: LeversClient,
    source: str | None = None,
    owner_loc: Sequence[str | int] = ("body", "owner"),
    action: str = "import",
    prefix: Sequence[str | int] = ("body",),
) -> Questionnaire:
    """A new draft (edition 1 of a new lineage) holding `document` (validated: `document.py`)."""
    level, code, region = await resolve_owner(owner, levers=levers, loc=owner_loc)
    questionnaire = Questionnaire(
        id=uuid.uuid4(),
        edition=1,
        owner_level=level,
        owner_code=code,
        owner_region=region,
        status=QuestionnaireStatus.draft,
        source=source,
        created_by=principal.subject,
    )
    questionnaire.lineage_id = questionnaire.id
    _ensure_can_manage(principal, owner_territory(questionnaire))
    await check_levers(document, levers=levers, prefix=prefix)
    _set_content(questionnaire, document)
    await QuestionnaireRepository(session).add(questionnaire)
    _record_create(session, questionnaire, principal, action)
    return questionnaire


# Parsed documents of campaigns' questionnaires, by (id, content hash): every saved answer is checked
# against its questionnaire, and parsing a hundred-item document was a sixth of a save's CPU.
_CAMPAIGN_DOCUMENTS: LRUCache[tuple[uuid.UUID, str], QuestionnaireDocument] = LRUCache(maxsize=64)


async def campaign_document(session: AsyncSession, questionnaire_id: uuid.UUID) -> QuestionnaireDocument:
    """The document of a campaign's questionnaire (the campaign locks it, so it is there), parsed once
    per process: the key is its content hash, read first, so a document is never served for other content.
    Read only: callers never change it."""
    repository = QuestionnaireRepository(session)
    content_hash = await repository.content_hash(questionnaire_id)
    assert content_hash is not None  # a campaign locks its questionnaire
    key = (questionnaire_id, content_hash)
    document = _CAMPAIGN_DOCUMENTS.get(key)
    if document is None:
        questionnaire = await repository.get(questionnaire_id)
        assert questionnaire is not None
        document = _CAMPAIGN_DOCUMENTS[key] = export_document(questionnaire)
    return document


async def get_questionnaire(
    session: AsyncSession, questionnaire_id: uuid.UUID, *, include_archived: bool = False
) -> Questionnaire:
    """The questionnaire; an archived one is a 404 unless `include_archived`."""
    questionnaire = await QuestionnaireRepository(session).get(questionnaire_id)
    if questionnaire is None or is_hidden(questionnaire, include_archived):
        raise NotFound(f"No questionnaire {questionnaire_id}")
    return questionnaire


async def questionnaire_to_change(
    session: AsyncSession,
    questionnaire_id: uuid.UUID,
    *,
    principal: Principal,
    include_archived: bool = False,
) -> Questionnaire:
    """The questionnaire (404 otherwise), if the caller may manage it (403 otherwise)."""
    questionnaire = await get_questionnaire(session, questionnaire_id, include_archived=include_archived)
    _ensure_can_manage(principal, owner_territory(questionnaire))
    return questionnaire


def _ensure_editable(questionnaire: Questionnaire, what: str) -> None:
    if questionnaire.locked_at is not None:
        raise Conflict(
            f"Questionnaire {questionnaire.id} (edition {questionnaire.edition}) is locked since "
            f"{questionnaire.locked_at.isoformat()}: its {what} can no longer change. Make a new edition "
            f"(POST /api/v1/questionnaires/{questionnaire.id}/editions) and change that one.",
            code="questionnaire-locked",
        )


async def set_archived(
    session: AsyncSession, questionnaire: Questionnaire, archived: bool, *, principal: Principal
) -> Questionnaire:
    """Archive or restore (from `questionnaire_to_change`): audited, a new version."""
    archive.set_archived(
        session,
        AuditEntry,
        questionnaire,
        archived,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(questionnaire.id),
    )
    await session.flush()
    return questionnaire


async def list_questionnaires(
    session: AsyncSession,
    filters: QuestionnaireFilters,
    *,
    params: PageParams,
    include_archived: bool = False,
) -> Page[QuestionnaireRead]:
    statement = QuestionnaireRepository(session).list_statement(filters, include_archived=include_archived)
    return await paginate_into(session, statement, params, QuestionnaireRead.of)


async def update_questionnaire(
    session: AsyncSession, questionnaire: Questionnaire, *, data: QuestionnaireUpdate, principal: Principal
) -> Questionnaire:
    """`questionnaire` from `questionnaire_to_change` (scope checked). A locked one takes only a status
    between published and archived; `published` locks it."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    changes = {k: v for k, v in changes.items() if getattr(questionnaire, k) != v}
    if questionnaire.locked_at is not None:
        if "title" in changes or "description" in changes:
            _ensure_editable(questionnaire, "title and description")
        if changes.get("status") is QuestionnaireStatus.draft:
            _ensure_editable(questionnaire, "status (back to draft)")
    if changes.get("status") is QuestionnaireStatus.published:
        if not questionnaire.sections:
            raise UnprocessableEntity(
                "A questionnaire with no sections cannot be published: PUT its document first",
                errors=[FieldError(loc=["body", "status"], msg="The questionnaire is empty", type="empty")],
            )
        if questionnaire.locked_at is None:
            changes["locked_at"] = utcnow()
    audit.apply_update(
        session,
        AuditEntry,
        questionnaire,
        changes,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(questionnaire.id),
    )
    await session.flush()
    return questionnaire


async def replace_document(
    session: AsyncSession,
    questionnaire: Questionnaire,
    document: QuestionnaireDocument,
    *,
    principal: Principal,
    levers: LeversClient,
    prefix: Sequence[str | int] = ("body",),
) -> Questionnaire:
    """The whole content of a draft (from `questionnaire_to_change`); 409 once locked."""
    _ensure_editable(questionnaire, "document")
    await check_levers(document, levers=levers, prefix=prefix)
    before = audit.snapshot(questionnaire, ["title", "description", "respondent_types", "content_hash"])
    _set_content(questionnaire, document)
    changed = audit.diff(before, audit.snapshot(questionnaire, list(before)))
    if changed:
        audit.record(
            session,
            AuditEntry,
            principal=principal,
            action="update",
            entity_type=ENTITY,
            entity_id=str(questionnaire.id),
            changes=changed,
        )
        await session.flush()
    return questionnaire


async def lock(
    session: AsyncSession, questionnaire: Questionnaire, *, principal: Principal, reason: str
) -> None:
    """Lock a questionnaire (a campaign uses it): immutable from now on. No-op when already locked."""
    if questionnaire.locked_at is not None:
        return
    audit.apply_update(
        session,
        AuditEntry,
        questionnaire,
        {"locked_at": utcnow()},
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(questionnaire.id),
        action=reason,
    )
    await session.flush()


async def new_edition(
    session: AsyncSession,
    questionnaire: Questionnaire,
    *,
    principal: Principal,
    document: QuestionnaireDocument | None = None,
    levers: LeversClient | None = None,
    source: str | None = None,
) -> Questionnaire:
    """A draft copy of `questionnaire` (from `questionnaire_to_change`), the lineage's next edition; with
    `document`, holding that content instead (checked against `levers`)."""
    repository = QuestionnaireRepository(session)
    latest = await repository.latest_edition(questionnaire.lineage_id)
    if latest is not None and latest.id != questionnaire.id:
        raise Conflict(
            f"Edition {questionnaire.edition} is not the latest of its lineage: make the new edition from "
            f"edition {latest.edition} ({latest.id})",
            code="questionnaire-not-latest",
        )
    if questionnaire.locked_at is None:
        raise Conflict(
            f"Questionnaire {questionnaire.id} is a draft not yet locked: change it (PUT its document) "
            "rather than making a new edition",
            code="questionnaire-not-locked",
        )
    copy = Questionnaire(
        id=uuid.uuid4(),
        lineage_id=questionnaire.lineage_id,
        edition=questionnaire.edition + 1,
        previous_id=questionnaire.id,
        owner_level=questionnaire.owner_level,
        owner_code=questionnaire.owner_code,
        owner_region=questionnaire.owner_region,
        title=questionnaire.title,
        description=questionnaire.description,
        respondent_types=list(questionnaire.respondent_types),
        sections=list(questionnaire.sections),
        content_hash=questionnaire.content_hash,
        # A copy made by hand is no longer the shipped content: only the job's editions name a source.
        source=source,
        status=QuestionnaireStatus.draft,
        created_by=principal.subject,
    )
    if document is not None:
        if levers is not None:
            await check_levers(document, levers=levers, prefix=())
        _set_content(copy, document)
    await repository.add(copy)
    _record_create(session, copy, principal, "create_edition")
    return copy
