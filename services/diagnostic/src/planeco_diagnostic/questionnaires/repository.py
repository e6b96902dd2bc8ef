"""All SQL of the questionnaires module."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.questionnaires.models import Questionnaire, QuestionnaireStatus
from planeco_shared.archive import not_archived


class QuestionnaireRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, questionnaire_id: uuid.UUID) -> Questionnaire | None:
        return await self.session.get(Questionnaire, questionnaire_id)

    def list_statement(
        self, *, region: str | None, status: QuestionnaireStatus | None, include_archived: bool
    ) -> Select[Any]:
        statement = (
            select(Questionnaire)
            .where(not_archived(Questionnaire.archived_at, include_archived))
            .order_by(Questionnaire.created_at.desc(), Questionnaire.id)
        )
        if region is not None:
            statement = statement.where(Questionnaire.region_code == region)
        if status is not None:
            statement = statement.where(Questionnaire.status == status)
        return statement

    async def add(self, questionnaire: Questionnaire) -> Questionnaire:
        self.session.add(questionnaire)
        await self.session.flush()
        return questionnaire
