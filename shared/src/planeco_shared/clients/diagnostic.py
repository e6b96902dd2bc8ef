"""Typed client of the diagnostic service."""

from __future__ import annotations

import datetime as dt
import uuid

from planeco_shared.clients.base import ClientModel, ServiceClient
from planeco_shared.identity import Principal


class QuestionnaireOwner(ClientModel):
    level: str  # region, departement
    code: str


class Questionnaire(ClientModel):
    id: uuid.UUID
    lineage_id: uuid.UUID
    edition: int
    title: str
    owner: QuestionnaireOwner | None  # None: national
    status: str
    locked_at: dt.datetime | None


class DiagnosticClient(ServiceClient):
    service = "diagnostic"

    async def get_questionnaire(
        self, questionnaire_id: uuid.UUID, *, principal: Principal | None = None
    ) -> Questionnaire:
        return await self.get_model(
            Questionnaire, f"/api/v1/questionnaires/{questionnaire_id}", principal=principal
        )
