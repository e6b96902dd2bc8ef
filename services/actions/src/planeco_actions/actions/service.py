"""COP actions: a région's coordinators (and national admins) record and follow them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action
from planeco_actions.actions.repository import ENTITY, ActionRepository
from planeco_actions.actions.schemas import ActionCreate, ActionFilters, ActionRead, ActionUpdate
from planeco_actions.db import AuditEntry
from planeco_shared import archive, audit
from planeco_shared.archive import is_hidden
from planeco_shared.clients.base import ReferenceCheck
from planeco_shared.clients.levers import LeversClient
from planeco_shared.history import HistoryEntry, history_page
from planeco_shared.identity import Principal
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import FieldError, NotFound, UnprocessableEntity
from planeco_shared.scopes import Territory, ensure_may_act_on

CREATE_FIELDS = [
    "title",
    "region_code",
    "lever_id",
    "carriers",
    "start_year",
    "end_year",
    "estimated_cost_eur",
    "expected_impact_ktco2e",
    "status",
]


async def check_references(
    levers: LeversClient, *, region: str | None = None, lever_id: str | None = None
) -> None:
    """The région and the lever an action names exist in the levers service (its territories and its
    lever catalogue: the one source of truth), checked at write time, as this service itself."""
    check = ReferenceCheck()
    if region is not None:
        await check.exists(levers.get_region(region), loc=["body", "region"], what=f"région {region}")
    if lever_id is not None:
        await check.exists(levers.get_lever(lever_id), loc=["body", "lever_id"], what=f"lever {lever_id!r}")
    check.raise_if_any()


async def create_action(
    session: AsyncSession, *, data: ActionCreate, principal: Principal, levers: LeversClient
) -> Action:
    ensure_may_act_on(principal, Territory.region(data.region))
    await check_references(levers, region=data.region, lever_id=data.lever_id)
    values = data.model_dump(exclude={"region"})
    action = await ActionRepository(session).add(
        Action(**values, region_code=data.region, created_by=principal.subject)
    )
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=ENTITY,
        entity_id=str(action.id),
        changes=audit.snapshot(action, CREATE_FIELDS),
    )
    return action


async def get_action(
    session: AsyncSession,
    action_id: uuid.UUID,
    *,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> Action:
    """The action, if the caller may see it (`regions`: those it may see; None: all). Another région's
    action is a 404, as if it did not exist: its existence is not the caller's to know; so is an
    archived one, unless `include_archived`."""
    action = await ActionRepository(session).get(action_id)
    if (
        action is None
        or (regions is not None and action.region_code not in regions)
        or is_hidden(action, include_archived)
    ):
        raise NotFound(f"No action {action_id}")
    return action


async def action_to_change(
    session: AsyncSession,
    action_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> Action:
    """The action, if the caller may see it (404 otherwise) and change it (403 otherwise)."""
    action = await get_action(session, action_id, regions=regions, include_archived=include_archived)
    ensure_may_act_on(principal, Territory.region(action.region_code))
    return action


async def set_archived(
    session: AsyncSession, action: Action, archived: bool, *, principal: Principal
) -> Action:
    """Archive or restore `action` (from `action_to_change`): audited, a new version."""
    archive.set_archived(
        session,
        AuditEntry,
        action,
        archived,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(action.id),
    )
    await session.flush()
    return action


async def list_actions(
    session: AsyncSession,
    *,
    filters: ActionFilters,
    regions: frozenset[str] | None,
    params: PageParams,
    include_archived: bool = False,
) -> Page[ActionRead]:
    statement = ActionRepository(session).list_statement(
        filters, regions=regions, include_archived=include_archived
    )
    return await paginate_into(session, statement, params, ActionRead.model_validate)


async def update_action(
    session: AsyncSession, action: Action, *, data: ActionUpdate, principal: Principal, levers: LeversClient
) -> Action:
    """`action` from `action_to_change` (visibility and scope checked)."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("lever_id") is not None and changes["lever_id"] != action.lever_id:
        await check_references(levers, lever_id=changes["lever_id"])
    start = changes.get("start_year", action.start_year)
    end = changes.get("end_year", action.end_year)
    if start is not None and end is not None and end < start:
        raise UnprocessableEntity(
            "end_year must not be before start_year",
            errors=[
                FieldError(loc=["body", "end_year"], msg="must not be before start_year", type="value_error")
            ],
        )
    audit.apply_update(
        session,
        AuditEntry,
        action,
        changes,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(action.id),
    )
    await session.flush()
    return action


async def action_history(
    session: AsyncSession, action_id: uuid.UUID, *, regions: frozenset[str] | None, params: PageParams
) -> Page[HistoryEntry]:
    await get_action(session, action_id, regions=regions, include_archived=True)  # the archive is history
    statement = ActionRepository(session).history_statement(action_id)
    return await history_page(session, statement, params, field_order=CREATE_FIELDS)


@dataclass(frozen=True, slots=True)
class FundingTarget:
    """What the aids module needs of an action to suggest its funding (`GET /actions/{id}/funding`): its
    levers, its territory, its carriers. The one function the aids module reads actions through."""

    lever_ids: tuple[str, ...]
    region: str
    carriers: tuple[str, ...]


async def funding_target(
    session: AsyncSession, action_id: uuid.UUID, *, regions: frozenset[str] | None
) -> FundingTarget:
    """The action's levers, région and carriers, if the caller may see it (404 otherwise)."""
    action = await get_action(session, action_id, regions=regions)
    levers = (action.lever_id,) if action.lever_id else ()
    return FundingTarget(levers, action.region_code, tuple(action.carriers or ()))
