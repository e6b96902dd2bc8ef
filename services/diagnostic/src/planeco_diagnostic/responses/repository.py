"""All SQL of the responses module."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.responses.models import Response
from planeco_shared.history import history_statement


class ResponseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, invitee_id: uuid.UUID) -> Response | None:
        return await self.session.get(Response, invitee_id)

    async def add(self, response: Response) -> Response:
        self.session.add(response)
        await self.session.flush()
        return response

    def history_statement(self, invitee_id: uuid.UUID) -> Select[Any]:
        return history_statement(AuditEntry, "response", str(invitee_id))
