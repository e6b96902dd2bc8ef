"""All SQL of the debate module."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.db import AuditEntry
from planeco_actions.debate.models import Meeting, Proposal, WorkingGroup
from planeco_actions.debate.schemas import ProposalFilters, WorkingGroupFilters, owner_key
from planeco_shared.archive import not_archived
from planeco_shared.history import history_statement
from planeco_shared.scopes import visible

WORKING_GROUP = "working_group"
MEETING = "meeting"
PROPOSAL = "proposal"


def _escaped(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class DebateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def group(self, group_id: uuid.UUID) -> WorkingGroup | None:
        return await self.session.get(WorkingGroup, group_id)

    async def meeting(self, meeting_id: uuid.UUID) -> Meeting | None:
        return await self.session.get(Meeting, meeting_id)

    def meetings_statement(self, group_id: uuid.UUID, *, include_archived: bool) -> Select[Any]:
        return (
            select(Meeting)
            .where(Meeting.group_id == group_id, not_archived(Meeting.archived_at, include_archived))
            .order_by(Meeting.date, Meeting.id)
        )

    async def proposal(self, proposal_id: uuid.UUID) -> Proposal | None:
        return await self.session.get(Proposal, proposal_id)

    def proposals_statement(
        self, group_id: uuid.UUID, filters: ProposalFilters, *, include_archived: bool
    ) -> Select[Any]:
        statement = (
            select(Proposal)
            .where(Proposal.group_id == group_id, not_archived(Proposal.archived_at, include_archived))
            .order_by(Proposal.created_at, Proposal.id)
        )
        if filters.lever_id:
            statement = statement.where(
                or_(
                    *(
                        Proposal.lever_keys.like(f"%|{_escaped(lever)}|%", escape="\\")
                        for lever in filters.lever_id
                    )
                )
            )
        if filters.status:
            statement = statement.where(Proposal.status.in_(filters.status))
        if filters.meeting_id:
            statement = statement.where(Proposal.meeting_id == filters.meeting_id)
        return statement

    async def add(self, entity: Any) -> None:
        self.session.add(entity)
        await self.session.flush()

    def groups_statement(
        self, filters: WorkingGroupFilters, *, regions: frozenset[str] | None, include_archived: bool
    ) -> Select[Any]:
        column = getattr(WorkingGroup, filters.sort.value)
        order = column.desc() if filters.descending else column.asc()
        statement = (
            select(WorkingGroup)
            .where(
                visible(WorkingGroup.owner_region, regions),
                not_archived(WorkingGroup.archived_at, include_archived),
            )
            .order_by(order, WorkingGroup.id)
        )
        if filters.owner:
            level, code = owner_key(filters.owner)
            statement = statement.where(WorkingGroup.owner_level == level, WorkingGroup.owner_code == code)
        if filters.region:
            statement = statement.where(WorkingGroup.owner_region == filters.region)
        if filters.lever_id:
            statement = statement.where(
                or_(
                    *(
                        WorkingGroup.lever_keys.like(f"%|{_escaped(lever)}|%", escape="\\")
                        for lever in filters.lever_id
                    )
                )
            )
        if filters.status:
            statement = statement.where(WorkingGroup.status.in_(filters.status))
        return statement

    def history_statement(self, entity: str, entity_id: uuid.UUID) -> Select[Any]:
        return history_statement(AuditEntry, entity, str(entity_id))
