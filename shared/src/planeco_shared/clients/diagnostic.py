"""Typed client of the diagnostic service."""

from __future__ import annotations

import uuid

from planeco_shared.clients.base import ClientModel, ServiceClient
from planeco_shared.identity import Principal


class Questionnaire(ClientModel):
    id: uuid.UUID
    title: str
    region: str | None
    status: str


class DiagnosticClient(ServiceClient):
    service = "diagnostic"

    async def get_questionnaire(
        self, questionnaire_id: uuid.UUID, *, principal: Principal | None = None
    ) -> Questionnaire:
        return await self.get_model(
            Questionnaire, f"/api/v1/questionnaires/{questionnaire_id}", principal=principal
        )
