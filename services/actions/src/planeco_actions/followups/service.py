"""Follow-up rules: who reports progress (whoever may write the action), what an update may say, and
which actions are overdue for one.

An update is never changed: the list of an action's updates is its follow-up history, and the latest
(by `reported_on`, then by when it was recorded) is what the roadmap uses. An update whose `status`
differs from the action's moves the action to it (audited on the action, a new revision of it).
Overdue: a followed action (`retenue`, `en_cours`) whose latest deadline on or before the day asked (its
end date, a phase's end, a milestone) has no update dated that day or later.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import Action, ActionStatus
from planeco_actions.actions.repository import ENTITY as ACTION_ENTITY
from planeco_actions.db import AuditEntry
from planeco_actions.followups.models import ProgressUpdate
from planeco_actions.followups.repository import ProgressRepository
from planeco_actions.followups.schemas import (
    OverdueActionRead,
    OverdueFilters,
    ProgressUpdateCreate,
    ProgressUpdateRead,
)
from planeco_shared import audit
from planeco_shared.identity import Principal, Role
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import FieldError, Forbidden, NotFound, UnprocessableEntity

ENTITY = "progress-update"
FIELDS = [
    "action_id",
    "reported_on",
    "status",
    "percent_done",
    "indicator_value",
    "indicator_unit",
    "spent_eur",
    "comment",
]
END = "fin"


def _main_unit(action: Action) -> str | None:
    """The unit of the main lever's stored impact, when it has one in a physical unit."""
    for impact in action.impacts:
        if impact["lever_id"] == action.lever_id and impact.get("physical") is not None:
            unit: str | None = impact.get("unit")
            return unit
    return None


async def add_update(
    session: AsyncSession, action: Action, data: ProgressUpdateCreate, *, principal: Principal
) -> ProgressUpdate:
    """`action` from `action_to_change` (visibility and scope checked)."""
    status = data.status or action.status
    if principal.role is Role.contributor:
        if action.status is not ActionStatus.proposee:
            raise Forbidden("A contributor reports on a proposal only while it is `proposee`")
        if status is not action.status:
            raise Forbidden("Only coordinators decide status: a contributor proposes")
    unit = _main_unit(action)
    if data.indicator_value is not None and unit is None:
        raise UnprocessableEntity(
            "The indicator has no unit",
            errors=[
                FieldError(
                    loc=["body", "indicator_value"],
                    msg="the action's main lever has no impact stored in a physical unit: give "
                    "percent_done only, or enter the impact in the lever's unit first",
                    type="no-unit",
                )
            ],
        )
    update = await ProgressRepository(session).add(
        ProgressUpdate(
            action_id=action.id,
            region_code=action.region_code,
            reported_on=data.reported_on,
            status=status,
            percent_done=data.percent_done,
            indicator_value=data.indicator_value,
            indicator_unit=unit if data.indicator_value is not None else None,
            spent_eur=data.spent_eur,
            comment=data.comment,
            created_by=principal.subject,
        )
    )
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=ENTITY,
        entity_id=str(update.id),
        changes=audit.snapshot(update, FIELDS),
    )
    if status is not action.status:
        audit.apply_update(
            session,
            AuditEntry,
            action,
            {"status": status},
            principal=principal,
            entity_type=ACTION_ENTITY,
            entity_id=str(action.id),
        )
        await session.flush()
    return update


async def list_updates(
    session: AsyncSession, action: Action, *, params: PageParams
) -> Page[ProgressUpdateRead]:
    statement = ProgressRepository(session).list_statement(action.id)
    return await paginate_into(session, statement, params, ProgressUpdateRead.model_validate)


async def get_update(session: AsyncSession, action: Action, update_id: uuid.UUID) -> ProgressUpdate:
    update = await ProgressRepository(session).get(action.id, update_id)
    if update is None:
        raise NotFound(f"No progress update {update_id} for action {action.id}")
    return update


def _deadlines(action: Action) -> list[tuple[dt.date, str]]:
    dates: list[tuple[dt.date, str]] = []
    if action.end_date is not None:
        dates.append((action.end_date, END))
    for phase in action.phases:
        day: Any = phase.get("end_date") or phase.get("start_date")
        if day:
            dates.append((dt.date.fromisoformat(day), str(phase.get("label", ""))))
    return dates


async def overdue(
    session: AsyncSession,
    filters: OverdueFilters,
    *,
    regions: frozenset[str] | None,
    params: PageParams,
    today: dt.date,
) -> Page[OverdueActionRead]:
    """Sorted by the date due (oldest first), the action id breaking ties."""
    as_of = filters.as_of or today
    found: list[OverdueActionRead] = []
    for action, last in await ProgressRepository(session).followed_actions(filters, regions=regions):
        past = [deadline for deadline in _deadlines(action) if deadline[0] <= as_of]
        if not past:
            continue
        due_on, due = max(past, key=lambda deadline: (deadline[0], deadline[1] == END))
        if last is not None and last >= due_on:
            continue
        found.append(
            OverdueActionRead(
                action_id=action.id,
                title=action.title,
                status=action.status,
                territory_level=action.territory_level,
                territory_code=action.territory_code,
                region=action.region_code,
                departement=action.departement_code,
                due_on=due_on,
                due=due,
                last_reported_on=last,
            )
        )
    found.sort(key=lambda item: (item.due_on, str(item.action_id)))
    return Page.of_all(found, params)
