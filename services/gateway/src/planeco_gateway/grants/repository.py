"""All SQL of the grants."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_gateway.grants.models import Grant


class GrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active_for(self, email: str) -> Grant | None:
        statement = (
            select(Grant).where(Grant.email == email, Grant.revoked_at.is_(None)).order_by(Grant.created_at)
        )
        return (await self.session.execute(statement)).scalars().first()

    async def add(self, grant: Grant) -> None:
        self.session.add(grant)
        await self.session.flush()
