"""All SQL of the API keys."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_gateway.apikeys.models import ApiKey


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key_id: str) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id)

    async def add(self, key: ApiKey) -> None:
        self.session.add(key)
        await self.session.flush()

    async def list_all(self) -> list[ApiKey]:
        return list(
            (await self.session.execute(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))).scalars()
        )
