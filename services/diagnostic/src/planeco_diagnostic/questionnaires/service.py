"""Questionnaire templates: national ones by admins, a région's own by its coordinators."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.questionnaires.models import Questionnaire, QuestionnaireStatus
from planeco_diagnostic.questionnaires.repository import QuestionnaireRepository
from planeco_diagnostic.questionnaires.schemas import (
    QuestionnaireCreate,
    QuestionnaireRead,
    QuestionnaireUpdate,
)
from planeco_shared import archive, audit
from planeco_shared.archive import is_hidden
from planeco_shared.identity import Principal, Role
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import Forbidden, NotFound
from planeco_shared.scopes import Territory, ensure_may_act_on

ENTITY = "questionnaire"


def _ensure_can_manage(principal: Principal, region: str | None) -> None:
    if region is None:
        if principal.role is not Role.admin:
            raise Forbidden("Only national admins manage national questionnaire templates")
        return
    ensure_may_act_on(principal, Territory.region(region))


async def create_questionnaire(
    session: AsyncSession, *, data: QuestionnaireCreate, principal: Principal
) -> Questionnaire:
    _ensure_can_manage(principal, data.region)
    questionnaire = await QuestionnaireRepository(session).add(
        Questionnaire(
            title=data.title,
            description=data.description,
            region_code=data.region,
            respondent_types=[t.value for t in data.respondent_types],
            status=QuestionnaireStatus.draft,
            created_by=principal.subject,
        )
    )
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=ENTITY,
        entity_id=str(questionnaire.id),
        changes=audit.snapshot(questionnaire, ["title", "region_code", "respondent_types", "status"]),
    )
    return questionnaire


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
    _ensure_can_manage(principal, questionnaire.region_code)
    return questionnaire


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
    *,
    region: str | None,
    status: QuestionnaireStatus | None,
    params: PageParams,
    include_archived: bool = False,
) -> Page[QuestionnaireRead]:
    statement = QuestionnaireRepository(session).list_statement(
        region=region, status=status, include_archived=include_archived
    )
    return await paginate_into(session, statement, params, QuestionnaireRead.model_validate)


async def update_questionnaire(
    session: AsyncSession, questionnaire: Questionnaire, *, data: QuestionnaireUpdate, principal: Principal
) -> Questionnaire:
    """`questionnaire` from `questionnaire_to_change` (scope checked)."""
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "respondent_types" in changes:
        changes["respondent_types"] = [str(t) for t in changes["respondent_types"]]
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
