"""The debate: working groups of a région's or a département's COP. Their owner's coordinators (and
admins) write; the participants of the owner's région read."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions import service as actions
from planeco_actions.actions.models import Action, TerritoryLevel
from planeco_actions.actions.schemas import ActionCreate, TerritoryRef
from planeco_actions.actions.service import resolve_territory
from planeco_actions.db import AuditEntry
from planeco_actions.debate.models import Meeting, Proposal, ProposalStatus, WorkingGroup
from planeco_actions.debate.repository import MEETING, PROPOSAL, WORKING_GROUP, DebateRepository
from planeco_actions.debate.schemas import (
    MeetingCreate,
    MeetingRead,
    MeetingUpdate,
    Member,
    MemberKind,
    Promotion,
    ProposalCreate,
    ProposalFilters,
    ProposalRead,
    ProposalUpdate,
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
from planeco_shared.problems import Conflict, FieldError, NotFound, UnprocessableEntity

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

PROPOSAL_FIELDS = [
    "group_id",
    "meeting_id",
    "title",
    "description",
    "lever_ids",
    "proposer",
    "status",
    "action_id",
]
_ENTITIES: dict[type[Any], str] = {}
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
    levers: LeversClient, members: Sequence[Member], *, check: ReferenceCheck, field: str = "members"
) -> list[dict[str, Any]]:
    """The stored form of the members: a collectivité's territory checked and named."""
    stored: list[dict[str, Any]] = []
    for index, member in enumerate(members):
        if member.kind is MemberKind.collectivite and member.territory is not None:
            place = await resolve_territory(
                levers,
                member.territory,
                check=check,
                loc=["body", field, index, "territory"]
                if field == "members"
                else ["body", field, "territory"],
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


Archived = TypeVar("Archived", WorkingGroup, Meeting, Proposal)


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
        entity_type=_ENTITIES[type(entity)],
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


_ENTITIES.update({WorkingGroup: WORKING_GROUP, Meeting: MEETING, Proposal: PROPOSAL})


def _value_error(loc: list[str | int], msg: str) -> UnprocessableEntity:
    return UnprocessableEntity(
        f"{'.'.join(map(str, loc[1:]))} {msg}", errors=[FieldError(loc=loc, msg=msg, type="value_error")]
    )


async def _check_meeting(session: AsyncSession, group: WorkingGroup, meeting_id: uuid.UUID | None) -> None:
    if meeting_id is None:
        return
    meeting = await DebateRepository(session).meeting(meeting_id)
    if meeting is None or meeting.group_id != group.id or meeting.archived_at is not None:
        raise _value_error(["body", "meeting_id"], f"{meeting_id} is not a meeting of this working group")


async def create_proposal(
    session: AsyncSession,
    group: WorkingGroup,
    *,
    data: ProposalCreate,
    principal: Principal,
    levers: LeversClient,
) -> Proposal:
    """A proposal of `group` (from `group_to_change`)."""
    if data.status is ProposalStatus.promue:
        raise _value_error(["body", "status"], "a proposal becomes `promue` only by its promotion")
    _no_duplicates(data.lever_ids, field="lever_ids")
    await _check_meeting(session, group, data.meeting_id)
    check = ReferenceCheck()
    await _check_levers(levers, data.lever_ids, check=check)
    proposer = (
        (await _members(levers, [data.proposer], check=check, field="proposer"))[0] if data.proposer else None
    )
    check.raise_if_any()
    proposal = Proposal(
        group_id=group.id,
        meeting_id=data.meeting_id,
        title=data.title,
        description=data.description,
        lever_ids=list(data.lever_ids),
        lever_keys=_keys(data.lever_ids),
        proposer=proposer,
        status=data.status,
        created_by=principal.subject,
    )
    await DebateRepository(session).add(proposal)
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=PROPOSAL,
        entity_id=str(proposal.id),
        changes=audit.snapshot(proposal, PROPOSAL_FIELDS),
    )
    return proposal


async def list_proposals(
    session: AsyncSession,
    group_id: uuid.UUID,
    *,
    filters: ProposalFilters,
    regions: frozenset[str] | None,
    params: PageParams,
    include_archived: bool = False,
) -> Page[ProposalRead]:
    await get_group(session, group_id, regions=regions)
    statement = DebateRepository(session).proposals_statement(
        group_id, filters, include_archived=include_archived
    )
    return await paginate_into(session, statement, params, ProposalRead.of)


async def get_proposal(
    session: AsyncSession,
    proposal_id: uuid.UUID,
    *,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> tuple[Proposal, WorkingGroup]:
    proposal = await DebateRepository(session).proposal(proposal_id)
    if proposal is None or is_hidden(proposal, include_archived):
        raise NotFound(f"No proposal {proposal_id}")
    try:
        group = await get_group(
            session, proposal.group_id, regions=regions, include_archived=include_archived
        )
    except NotFound:
        raise NotFound(f"No proposal {proposal_id}") from None
    return proposal, group


async def proposal_to_change(
    session: AsyncSession,
    proposal_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> tuple[Proposal, WorkingGroup]:
    proposal, group = await get_proposal(
        session, proposal_id, regions=regions, include_archived=include_archived
    )
    ensure_may_manage(principal, group.owner)
    return proposal, group


async def update_proposal(
    session: AsyncSession,
    proposal: Proposal,
    group: WorkingGroup,
    *,
    data: ProposalUpdate,
    principal: Principal,
    levers: LeversClient,
) -> Proposal:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True, exclude={"proposer"})
    if "status" in changes and changes["status"] != proposal.status:
        if proposal.status is ProposalStatus.promue:
            raise _value_error(["body", "status"], "a promoted proposal stays `promue`")
        if changes["status"] is ProposalStatus.promue:
            raise _value_error(["body", "status"], "a proposal becomes `promue` only by its promotion")
    if "meeting_id" in changes:
        await _check_meeting(session, group, changes["meeting_id"])
    check = ReferenceCheck()
    if "lever_ids" in changes:
        _no_duplicates(changes["lever_ids"], field="lever_ids")
        await _check_levers(levers, changes["lever_ids"], check=check)
    if "proposer" in data.model_fields_set:
        changes["proposer"] = (
            (await _members(levers, [data.proposer], check=check, field="proposer"))[0]
            if data.proposer
            else None
        )
    check.raise_if_any()
    audit.apply_update(
        session,
        AuditEntry,
        proposal,
        changes,
        principal=principal,
        entity_type=PROPOSAL,
        entity_id=str(proposal.id),
    )
    proposal.lever_keys = _keys(proposal.lever_ids)
    await session.flush()
    return proposal


async def promote_proposal(
    session: AsyncSession,
    proposal: Proposal,
    group: WorkingGroup,
    *,
    data: Promotion,
    principal: Principal,
    levers: LeversClient,
) -> Action:
    """Create the COP action `proposal` becomes (through the actions module, with its checks and its
    scope: 403 when the caller may not act on the territory), and keep the link both ways. 409 when it
    was promoted already."""
    if proposal.action_id is not None or proposal.status is ProposalStatus.promue:
        raise Conflict(
            f"Proposal {proposal.id} was promoted already (action {proposal.action_id})",
            code="already-promoted",
        )
    territory = data.territory or TerritoryRef(
        level=TerritoryLevel(group.owner_level.value), code=group.owner_code or ""
    )
    action = await actions.create_action(
        session,
        data=ActionCreate(
            title=proposal.title,
            description=proposal.description,
            lever_id=proposal.lever_ids[0] if proposal.lever_ids else None,
            other_lever_ids=proposal.lever_ids[1:],
            territory=territory,
            status=data.status,
        ),
        principal=principal,
        levers=levers,
        proposal_id=proposal.id,
    )
    audit.apply_update(
        session,
        AuditEntry,
        proposal,
        {"status": ProposalStatus.promue, "action_id": action.id},
        principal=principal,
        entity_type=PROPOSAL,
        entity_id=str(proposal.id),
        action="promote",
    )
    await session.flush()
    return action


async def proposal_history(
    session: AsyncSession, proposal_id: uuid.UUID, *, regions: frozenset[str] | None, params: PageParams
) -> Page[HistoryEntry]:
    await get_proposal(session, proposal_id, regions=regions, include_archived=True)
    statement = DebateRepository(session).history_statement(PROPOSAL, proposal_id)
    return await history_page(session, statement, params, field_order=PROPOSAL_FIELDS)
