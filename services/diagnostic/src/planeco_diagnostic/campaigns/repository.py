"""All SQL of the campaigns module."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, Invitee, InviteeType
from planeco_diagnostic.campaigns.schemas import CampaignFilters, InviteeFilters
from planeco_shared.scopes import visible


class CampaignRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, campaign_id: uuid.UUID) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id)

    async def add(self, campaign: Campaign, invitees: Sequence[dict[str, Any]]) -> Campaign:
        self.session.add(campaign)
        await self.session.flush()
        if invitees:
            rows = [{"id": uuid.uuid4(), "campaign_id": campaign.id, **row} for row in invitees]
            await self.session.execute(insert(Invitee), rows)
        return campaign

    def list_statement(self, filters: CampaignFilters, *, regions: frozenset[str] | None) -> Select[Any]:
        statement = (
            select(Campaign)
            .where(visible(Campaign.owner_region, regions))
            .order_by(Campaign.created_at.desc(), Campaign.id)
        )
        if filters.region is not None:
            statement = statement.where(Campaign.owner_region == filters.region)
        if filters.questionnaire_id is not None:
            statement = statement.where(Campaign.questionnaire_id == filters.questionnaire_id)
        return statement

    async def invitee_counts(
        self, campaign_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, dict[InviteeType, int]]:
        counts: dict[uuid.UUID, dict[InviteeType, int]] = {campaign_id: {} for campaign_id in campaign_ids}
        if not campaign_ids:
            return counts
        statement = (
            select(Invitee.campaign_id, Invitee.type, func.count())
            .where(Invitee.campaign_id.in_(list(campaign_ids)))
            .group_by(Invitee.campaign_id, Invitee.type)
        )
        for campaign_id, type_, count in (await self.session.execute(statement)).all():
            counts[campaign_id][InviteeType(type_)] = count
        return {
            campaign_id: {t: by_type[t] for t in InviteeType if t in by_type}
            for campaign_id, by_type in counts.items()
        }

    def invitees_statement(self, campaign_id: uuid.UUID, filters: InviteeFilters) -> Select[Any]:
        order = [Invitee.type, Invitee.departement, Invitee.code]
        statement = select(Invitee).where(Invitee.campaign_id == campaign_id).order_by(*order)
        if filters.type is not None:
            statement = statement.where(Invitee.type == filters.type)
        if filters.departement is not None:
            statement = statement.where(Invitee.departement == filters.departement)
        return statement
