"""All SQL of the response imports module."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.responses.models import Response


class ResponseImportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def responses(self, campaign_id: uuid.UUID) -> dict[uuid.UUID, Response]:
        """The campaign's responses by invitee, in one query (then in the session for the saves)."""
        statement = select(Response).where(Response.campaign_id == campaign_id)
        return {response.invitee_id: response for response in (await self.session.scalars(statement)).all()}
