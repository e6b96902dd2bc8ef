"""The debate: working groups of a région's or a département's COP. Their owner's coordinators (and
admins) write; the participants of the owner's région read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.service import resolve_territory
from planeco_actions.db import AuditEntry
from planeco_actions.debate.models import Meeting, WorkingGroup
from planeco_actions.debate.repository import MEETING, WORKING_GROUP, DebateRepository
from planeco_actions.debate.schemas import (
    MeetingCreate,
    MeetingRead,
    MeetingUpdate,
    Member,
    MemberKind,
    WorkingGroupCreate,
    WorkingGroupFilters,
    WorkingGroupRead,
    WorkingGroupUpdate,
)
from planeco_shared import archive, audit
from planeco_shared.archive import is_hidden
from planeco_shared.clients.base import ReferenceCheck
from planeco_shared.clients.levers import LeversClient
from planeco_shared.history import HistoryEntry, history_page
from planeco_shared.identity import Principal
from planeco_shared.owners import ensure_may_manage, resolve_owner
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.problems import FieldError, NotFound, UnprocessableEntity

# The audited fields of a working group, in the order the history lists them.
GROUP_FIELDS = [
    "owner_level",
    "owner_code",
    "owner_region",
    "name",
    "theme",
    "description",
    "lever_ids",
    "members",
    "status",
]

MEETING_FIELDS = ["group_id", "date", "place", "title", "synthesis", "documents"]


def _keys(values: Sequence[str]) -> str:
    unique = sorted(set(values))
    return f"|{'|'.join(unique)}|" if unique else ""


async def _check_levers(
    levers: LeversClient, lever_ids: Sequence[str], *, check: ReferenceCheck, field: str = "lever_ids"
) -> None:
    for index, lever_id in enumerate(lever_ids):
        await check.exists(levers.get_lever(lever_id), loc=["body", field, index], what=f"lever {lever_id!r}")


def _no_duplicates(values: Sequence[str], *, field: str) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            raise UnprocessableEntity(
                f"{field}[{index}] {value!r} is listed twice",
                errors=[
                    FieldError(
                        loc=["body", field, index], msg=f"{value!r} is listed twice", type="value_error"
                    )
                ],
            )
        seen.add(value)


async def _members(
    levers: LeversClient, members: Sequence[Member], *, check: ReferenceCheck
) -> list[dict[str, Any]]:
    """The stored form of the members: a collectivité's territory checked and named."""
    stored: list[dict[str, Any]] = []
    for index, member in enumerate(members):
        if member.kind is MemberKind.collectivite and member.territory is not None:
            place = await resolve_territory(
                levers, member.territory, check=check, loc=["body", "members", index, "territory"]
            )
            name = place.name if place else ""
            territory = {"level": member.territory.level.value, "code": member.territory.code, "name": name}
            stored.append(
                {
                    "kind": member.kind.value,
                    "name": name,
                    "organisation": None,
                    "territory": territory,
                    "role": member.role,
                }
            )
        else:
            stored.append(
                {
                    "kind": member.kind.value,
                    "name": member.name,
                    "organisation": member.organisation,
                    "territory": None,
                    "role": member.role,
                }
            )
    return stored


async def create_group(
    session: AsyncSession, *, data: WorkingGroupCreate, principal: Principal, levers: LeversClient
) -> WorkingGroup:
    _no_duplicates(data.lever_ids, field="lever_ids")
    owner = await resolve_owner(data.owner, levers=levers, loc=["body", "owner"])
    ensure_may_manage(principal, owner)
    check = ReferenceCheck()
    await _check_levers(levers, data.lever_ids, check=check)
    members = await _members(levers, data.members, check=check)
    check.raise_if_any()
    group = WorkingGroup(
        owner_level=owner.level,
        owner_code=owner.code,
        owner_region=owner.region,
        name=data.name,
        theme=data.theme,
        description=data.description,
        lever_ids=list(data.lever_ids),
        lever_keys=_keys(data.lever_ids),
        members=members,
        status=data.status,
        created_by=principal.subject,
    )
    await DebateRepository(session).add(group)
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=WORKING_GROUP,
        entity_id=str(group.id),
        changes=audit.snapshot(group, GROUP_FIELDS),
    )
    return group


async def get_group(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> WorkingGroup:
    """The group, if the caller may see it (another région's, or an archived one unless asked: 404)."""
    group = await DebateRepository(session).group(group_id)
    if (
        group is None
        or (regions is not None and group.owner_region not in regions)
        or is_hidden(group, include_archived)
    ):
        raise NotFound(f"No working group {group_id}")
    return group


async def group_to_change(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> WorkingGroup:
    """The group, if the caller may see it (404) and manage its owner's debate (403)."""
    group = await get_group(session, group_id, regions=regions, include_archived=include_archived)
    ensure_may_manage(principal, group.owner)
    return group


async def list_groups(
    session: AsyncSession,
    *,
    filters: WorkingGroupFilters,
    regions: frozenset[str] | None,
    params: PageParams,
    include_archived: bool = False,
) -> Page[WorkingGroupRead]:
    statement = DebateRepository(session).groups_statement(
        filters, regions=regions, include_archived=include_archived
    )
    return await paginate_into(session, statement, params, WorkingGroupRead.of)


async def update_group(
    session: AsyncSession,
    group: WorkingGroup,
    *,
    data: WorkingGroupUpdate,
    principal: Principal,
    levers: LeversClient,
) -> WorkingGroup:
    """`group` from `group_to_change`."""
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"members"})
    check = ReferenceCheck()
    if "lever_ids" in changes:
        _no_duplicates(changes["lever_ids"], field="lever_ids")
        await _check_levers(levers, changes["lever_ids"], check=check)
    if "members" in data.model_fields_set:
        changes["members"] = await _members(levers, data.members, check=check)
    check.raise_if_any()
    audit.apply_update(
        session,
        AuditEntry,
        group,
        changes,
        principal=principal,
        entity_type=WORKING_GROUP,
        entity_id=str(group.id),
    )
    group.lever_keys = _keys(group.lever_ids)
    await session.flush()
    return group


Archived = TypeVar("Archived", WorkingGroup, Meeting)


async def set_archived(
    session: AsyncSession, entity: Archived, archived: bool, *, principal: Principal
) -> Archived:
    """Archive or restore a group or a meeting (from `…_to_change`): audited, a new revision."""
    archive.set_archived(
        session,
        AuditEntry,
        entity,
        archived,
        principal=principal,
        entity_type=WORKING_GROUP if isinstance(entity, WorkingGroup) else MEETING,
        entity_id=str(entity.id),
    )
    await session.flush()
    return entity


async def group_history(
    session: AsyncSession, group_id: uuid.UUID, *, regions: frozenset[str] | None, params: PageParams
) -> Page[HistoryEntry]:
    await get_group(session, group_id, regions=regions, include_archived=True)
    statement = DebateRepository(session).history_statement(WORKING_GROUP, group_id)
    return await history_page(session, statement, params, field_order=GROUP_FIELDS)


async def create_meeting(
    session: AsyncSession, group: WorkingGroup, *, data: MeetingCreate, principal: Principal
) -> Meeting:
    """A meeting of `group` (from `group_to_change`)."""
    meeting = Meeting(
        group_id=group.id,
        **data.model_dump(exclude={"documents"}),
        documents=data.model_dump(mode="json", include={"documents"})["documents"],
        created_by=principal.subject,
    )
    await DebateRepository(session).add(meeting)
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=MEETING,
        entity_id=str(meeting.id),
        changes=audit.snapshot(meeting, MEETING_FIELDS),
    )
    return meeting


async def list_meetings(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    regions: frozenset[str] | None,
    params: PageParams,
    include_archived: bool = False,
) -> Page[MeetingRead]:
    """The meetings of a group the caller may see, by date."""
    await get_group(session, group_id, regions=regions)
    statement = DebateRepository(session).meetings_statement(group_id, include_archived=include_archived)
    return await paginate_into(session, statement, params, MeetingRead.of)


async def get_meeting(
    session: AsyncSession,
    meeting_id: uuid.UUID,
    *,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> tuple[Meeting, WorkingGroup]:
    """The meeting and its group, if the caller may see the group (404 otherwise, as for an archived
    meeting unless `include_archived`)."""
    meeting = await DebateRepository(session).meeting(meeting_id)
    if meeting is None or is_hidden(meeting, include_archived):
        raise NotFound(f"No meeting {meeting_id}")
    try:
        group = await get_group(session, meeting.group_id, regions=regions, include_archived=include_archived)
    except NotFound:
        raise NotFound(f"No meeting {meeting_id}") from None
    return meeting, group


async def meeting_to_change(
    session: AsyncSession,
    meeting_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> Meeting:
    meeting, group = await get_meeting(
        session, meeting_id, regions=regions, include_archived=include_archived
    )
    ensure_may_manage(principal, group.owner)
    return meeting


async def update_meeting(
    session: AsyncSession, meeting: Meeting, *, data: MeetingUpdate, principal: Principal
) -> Meeting:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"documents"})
    changes |= data.model_dump(mode="json", exclude_unset=True, include={"documents"})
    audit.apply_update(
        session,
        AuditEntry,
        meeting,
        changes,
        principal=principal,
        entity_type=MEETING,
        entity_id=str(meeting.id),
    )
    await session.flush()
    return meeting


async def meeting_history(
    session: AsyncSession, meeting_id: uuid.UUID, *, regions: frozenset[str] | None, params: PageParams
) -> Page[HistoryEntry]:
    await get_meeting(session, meeting_id, regions=regions, include_archived=True)
    statement = DebateRepository(session).history_statement(MEETING, meeting_id)
    return await history_page(session, statement, params, field_order=MEETING_FIELDS)
