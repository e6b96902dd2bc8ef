"""All SQL of the invitations module."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, Invitee
from planeco_diagnostic.invitations.models import InvitationToken


class InvitationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def invitee(self, campaign_id: uuid.UUID, code: str) -> Invitee | None:
        statement = select(Invitee).where(Invitee.campaign_id == campaign_id, Invitee.code == code)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def token_of(self, invitee_id: uuid.UUID) -> InvitationToken | None:
        return await self.session.get(InvitationToken, invitee_id)

    async def by_hash(self, token_hash: str) -> tuple[InvitationToken, Invitee, Campaign] | None:
        statement = (
            select(InvitationToken, Invitee, Campaign)
            .join(Invitee, Invitee.id == InvitationToken.invitee_id)
            .join(Campaign, Campaign.id == InvitationToken.campaign_id)
            .where(InvitationToken.token_hash == token_hash)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else (row[0], row[1], row[2])

    async def add(self, token: InvitationToken, *, flush: bool = True) -> None:
        self.session.add(token)
        if flush:
            await self.session.flush()
