"""All SQL of the outbox module."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.outbox.models import MessageStatus, OutboxMessage
from planeco_diagnostic.outbox.schemas import OutboxFilters


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: OutboxMessage, *, flush: bool = True) -> OutboxMessage:
        self.session.add(message)
        if flush:
            await self.session.flush()
        return message

    async def get(self, message_id: uuid.UUID) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def claim(self, message_id: uuid.UUID) -> OutboxMessage | None:
        """The message marked `sending`, its attempt counted, if it still was `queued`; None otherwise.
        One UPDATE … WHERE status = 'queued' (a compare-and-set): of two runs claiming the same message,
        exactly one gets it, whatever else keeps runs apart (the job's lock does)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == MessageStatus.queued)
            .values(status=MessageStatus.sending, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            return None
        return await self.session.get(OutboxMessage, message_id, populate_existing=True)

    async def due(self, now: dt.datetime, *, limit: int) -> Sequence[OutboxMessage]:
        statement = (
            select(OutboxMessage)
            .where(OutboxMessage.status == MessageStatus.queued, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        )
        return (await self.session.scalars(statement)).all()

    async def sent_since(self, since: dt.datetime) -> int:
        statement = select(func.count()).where(
            OutboxMessage.status == MessageStatus.sent, OutboxMessage.sent_at >= since
        )
        return int(await self.session.scalar(statement) or 0)

    async def queued_of(self, campaign_id: uuid.UUID) -> Sequence[OutboxMessage]:
        """The campaign's messages not yet handed to the SMTP server."""
        statement = select(OutboxMessage).where(
            OutboxMessage.campaign_id == campaign_id, OutboxMessage.status == MessageStatus.queued
        )
        return (await self.session.scalars(statement)).all()

    async def fail_interrupted(self, reason: str) -> int:
        """Messages left `sending` by a run that stopped mid-way: failed, never retried."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == MessageStatus.sending)
            .values(status=MessageStatus.failed, last_error=reason)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def list_statement(self, filters: OutboxFilters, *, visible: ColumnElement[bool]) -> Select[Any]:
        statement = select(OutboxMessage).where(visible)
        if filters.status is not None:
            statement = statement.where(OutboxMessage.status == filters.status)
        if filters.template is not None:
            statement = statement.where(OutboxMessage.template == filters.template)
        return statement.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id)
