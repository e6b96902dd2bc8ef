"""All SQL of the responses module."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Invitee
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.responses.models import Response, ResponseStatus
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

    async def stats_rows(self, campaign_id: uuid.UUID) -> list[tuple[Any, str | None, int, int, int]]:
        """(type, département, invited, started, submitted) per type × département of a campaign."""
        submitted = func.count(Response.invitee_id).filter(Response.status == ResponseStatus.submitted)
        statement = (
            select(
                Invitee.type,
                Invitee.departement,
                func.count(Invitee.id),
                func.count(Response.invitee_id),
                submitted,
            )
            .outerjoin(Response, Response.invitee_id == Invitee.id)
            .where(Invitee.campaign_id == campaign_id)
            .group_by(Invitee.type, Invitee.departement)
        )
        return [
            (t, d, int(i), int(st), int(su))
            for t, d, i, st, su in (await self.session.execute(statement)).all()
        ]
