"""All SQL of the mailings module."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, Invitee
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations.models import InvitationToken
from planeco_diagnostic.mailings.schemas import NonRespondentFilters
from planeco_diagnostic.responses.models import Response, ResponseStatus


class MailingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def invitees(self, campaign_id: uuid.UUID) -> Sequence[Invitee]:
        statement = (
            select(Invitee)
            .where(Invitee.campaign_id == campaign_id)
            .order_by(Invitee.type, Invitee.departement, Invitee.code)
        )
        return (await self.session.scalars(statement)).all()

    async def tokens(self, campaign_id: uuid.UUID) -> dict[uuid.UUID, InvitationToken]:
        """The campaign's token rows by invitee, in one query."""
        statement = select(InvitationToken).where(InvitationToken.campaign_id == campaign_id)
        return {token.invitee_id: token for token in (await self.session.scalars(statement)).all()}

    async def statuses(self, invitee_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ResponseStatus]:
        found: dict[uuid.UUID, ResponseStatus] = {}
        ordered = sorted(invitee_ids)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            statement = select(Response.invitee_id, Response.status).where(Response.invitee_id.in_(chunk))
            for invitee_id, status in (await self.session.execute(statement)).all():
                found[invitee_id] = ResponseStatus(status)
        return found

    async def submitted(self, campaign_id: uuid.UUID) -> set[uuid.UUID]:
        statement = select(Response.invitee_id).where(
            Response.campaign_id == campaign_id, Response.status == ResponseStatus.submitted
        )
        return set((await self.session.scalars(statement)).all())

    def non_respondents_statement(self, campaign_id: uuid.UUID, filters: NonRespondentFilters) -> Select[Any]:
        statement = (
            select(Invitee)
            .outerjoin(Response, Response.invitee_id == Invitee.id)
            .where(
                Invitee.campaign_id == campaign_id,
                or_(Response.invitee_id.is_(None), Response.status != ResponseStatus.submitted),
            )
            .order_by(Invitee.type, Invitee.departement, Invitee.code)
        )
        if filters.type is not None:
            statement = statement.where(Invitee.type == filters.type)
        if filters.departement is not None:
            statement = statement.where(Invitee.departement == filters.departement)
        return statement

    async def all(self, statement: Select[Any], *, limit: int) -> Sequence[Invitee]:
        return (await self.session.scalars(statement.limit(limit))).all()

    async def closing_on(self, days: Sequence[dt.date], *, today: dt.date) -> Sequence[Campaign]:
        """The campaigns open today that close on one of `days`."""
        if not days:
            return []
        statement = (
            select(Campaign)
            .where(Campaign.closing_date.in_(list(days)), Campaign.opening_date <= today)
            .order_by(Campaign.closing_date, Campaign.id)
        )
        return (await self.session.scalars(statement)).all()

    async def reminded_since(
        self, campaign_id: uuid.UUID, action: str, actor: str, since: dt.datetime
    ) -> bool:
        statement = (
            select(AuditEntry.id)
            .where(
                AuditEntry.entity_type == "campaign",
                AuditEntry.entity_id == str(campaign_id),
                AuditEntry.action == action,
                AuditEntry.actor == actor,
                AuditEntry.occurred_at >= since,
            )
            .limit(1)
        )
        return (await self.session.scalar(statement)) is not None
