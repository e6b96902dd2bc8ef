"""Typed client of the actions service (what the roadmaps' actions achieve)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from planeco_shared.clients.base import ClientModel, ServiceClient
from planeco_shared.identity import Principal


class Action(ClientModel):
    id: uuid.UUID
    title: str
    region: str
    lever_id: str | None
    status: str
    expected_impact_ktco2e: Decimal | None


class ActionPage(ClientModel):
    items: list[Action]
    total: int
    page: int
    page_size: int


class ActionsClient(ServiceClient):
    service = "actions"

    async def get_action(self, action_id: uuid.UUID, *, principal: Principal | None = None) -> Action:
        return await self.get_model(Action, f"/api/v1/actions/{action_id}", principal=principal)

    async def list_actions(
        self,
        *,
        principal: Principal | None = None,
        region: str | None = None,
        lever_id: str | None = None,
        page: int = 1,
    ) -> ActionPage:
        params: dict[str, str | int] = {"page": page, "page_size": 500}
        if region:
            params["region"] = region
        if lever_id:
            params["lever_id"] = lever_id
        return await self.get_model(ActionPage, "/api/v1/actions", principal=principal, params=params)
