"""All SQL of the questionnaires module."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.questionnaires.models import Questionnaire
from planeco_diagnostic.questionnaires.schemas import QuestionnaireFilters
from planeco_shared.archive import not_archived
from planeco_shared.owners import OwnerLevel


class QuestionnaireRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, questionnaire_id: uuid.UUID) -> Questionnaire | None:
        return await self.session.get(Questionnaire, questionnaire_id)

    async def content_hash(self, questionnaire_id: uuid.UUID) -> str | None:
        statement = select(Questionnaire.content_hash).where(Questionnaire.id == questionnaire_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    def list_statement(self, filters: QuestionnaireFilters, *, include_archived: bool) -> Select[Any]:
        statement = (
            select(Questionnaire)
            .where(not_archived(Questionnaire.archived_at, include_archived))
            .order_by(Questionnaire.created_at.desc(), Questionnaire.id)
        )
        if filters.owner_level is not None:
            statement = statement.where(Questionnaire.owner_level == filters.owner_level)
        if filters.owner_code is not None:
            statement = statement.where(
                Questionnaire.owner_code == filters.owner_code, Questionnaire.owner_level != OwnerLevel.nation
            )
        if filters.status is not None:
            statement = statement.where(Questionnaire.status == filters.status)
        if filters.lineage_id is not None:
            statement = statement.where(Questionnaire.lineage_id == filters.lineage_id)
        return statement

    async def latest_edition(self, lineage_id: uuid.UUID) -> Questionnaire | None:
        """The lineage's highest edition, archived or not."""
        statement = (
            select(Questionnaire)
            .where(Questionnaire.lineage_id == lineage_id)
            .order_by(Questionnaire.edition.desc())
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def latest_from_source(self, source: str) -> Questionnaire | None:
        """The latest edition a job imported from `source` (the default questionnaire's file)."""
        statement = (
            select(Questionnaire)
            .where(Questionnaire.source == source, Questionnaire.owner_level == OwnerLevel.nation)
            .order_by(Questionnaire.edition.desc(), Questionnaire.created_at.desc(), Questionnaire.id)
            .limit(1)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def add(self, questionnaire: Questionnaire) -> Questionnaire:
        self.session.add(questionnaire)
        await self.session.flush()
        return questionnaire
