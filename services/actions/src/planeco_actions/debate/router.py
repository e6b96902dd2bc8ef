"""The debate of a COP: working groups (their meetings and proposals follow)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.schemas import ActionRead
from planeco_actions.db import IdempotencyKey
from planeco_actions.debate import exports, service
from planeco_actions.debate.exports import GroupFile
from planeco_actions.debate.models import Proposal
from planeco_actions.debate.schemas import (
    MeetingCreate,
    MeetingRead,
    MeetingUpdate,
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
from planeco_shared.archive import IncludeArchived, add_archive_routes
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, etag
from planeco_shared.database import SessionDep
from planeco_shared.history import HistoryEntry
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import Principal, RequireRole, Role, require_authenticated
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, VisibleRegions
from planeco_shared.tabular import add_export_route

router = APIRouter(
    prefix="/debates",
    tags=["debates"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)

# The owner's coordinators (a région's, or a département's for its own debate) and admins write.
Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]


@router.post(
    "/working-groups",
    response_model=WorkingGroupRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a working group of a COP's debate",
    description="The owner (a région or a département), the levers and the collectivités named as members "
    "must exist in the levers service (422 naming the field otherwise; 503 or 504 when it cannot be asked). "
    "Coordinators of the owner create its groups (a région's coordinator those of its départements too), "
    "admins any (403 otherwise). Send `Idempotency-Key` to retry safely.",
    responses=problem_responses(422, 502, 503, 504),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_working_group(
    data: WorkingGroupCreate, request: Request, session: SessionDep, principal: Manager, levers: LeversDep
) -> Response:
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    group = await service.create_group(session, data=data, principal=principal, levers=levers)
    headers = {
        "Location": f"/api/v1/debates/working-groups/{group.id}",
        "ETag": etag(group.id, group.version),
    }
    return await create.respond(WorkingGroupRead.of(group), status_code=201, headers=headers)


@router.get(
    "/working-groups",
    response_model=Page[WorkingGroupRead],
    summary="List the working groups of the debates",
    description="Only the groups of the régions the caller may see (all for admins and readers; their "
    "région's, départements' included, for its coordinators and contributors).",
)
async def list_working_groups(
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[WorkingGroupFilters, Query()],
    include_archived: IncludeArchived,
) -> Page[WorkingGroupRead]:
    return await service.list_groups(
        session, filters=filters, regions=regions, params=page, include_archived=include_archived
    )


@router.get(
    "/working-groups/{group_id}",
    response_model=WorkingGroupRead,
    summary="One working group",
    description="404 when the caller may not see it (another région's), or when it is archived (unless "
    "include_archived).",
    responses=problem_responses(404),
)
async def get_working_group(
    group_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    include_archived: IncludeArchived,
    response: Response,
) -> WorkingGroupRead:
    group = await service.get_group(session, group_id, regions=regions, include_archived=include_archived)
    response.headers["ETag"] = etag(group.id, group.version)
    return WorkingGroupRead.of(group)


@router.patch(
    "/working-groups/{group_id}",
    response_model=WorkingGroupRead,
    summary="Change a working group (If-Match required)",
    description="The same checks as the creation. `members` and `lever_ids` are replaced whole.",
    responses=problem_responses(404, 412, 422, 428, 502, 503, 504),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_working_group(
    group_id: uuid.UUID,
    data: WorkingGroupUpdate,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    levers: LeversDep,
    response: Response,
) -> WorkingGroupRead:
    group = await service.group_to_change(session, group_id, principal=principal, regions=regions)
    check_if_match(request, etag(group.id, group.version))
    group = await service.update_group(session, group, data=data, principal=principal, levers=levers)
    response.headers["ETag"] = etag(group.id, group.version)
    return WorkingGroupRead.of(group)


add_archive_routes(
    router,
    "/working-groups/{group_id}",
    name="working_group",
    label="a working group",
    to_change=service.group_to_change,
    set_archived=service.set_archived,
    read_model=WorkingGroupRead,
    manager=Manager,
    archive_description=(
        "A group belongs to an audited debate: it is archived, not erased. It then reads as 404 and leaves "
        "the lists, except with include_archived; `POST …/restore` brings it back. 409 when already "
        "archived."
    ),
    restore_description=(
        "The ETag of the archived group (read with include_archived=true). 409 when not archived."
    ),
)


@router.get(
    "/working-groups/{group_id}/history",
    response_model=Page[HistoryEntry],
    summary="Who changed this working group, when, old → new",
    description="Newest first. Fields: `owner_level`, `owner_code`, `owner_region`, `name`, `theme`, "
    "`description`, `lever_ids`, `members` (as the reads show them), `status`; archive and restore as "
    "their own entries.",
    responses=problem_responses(404),
)
async def get_working_group_history(
    group_id: uuid.UUID, session: SessionDep, regions: VisibleRegions, page: PageDep
) -> Page[HistoryEntry]:
    return await service.group_history(session, group_id, regions=regions, params=page)


@router.post(
    "/working-groups/{group_id}/meetings",
    response_model=MeetingRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a meeting of a working group",
    description="Its date, place, synthesis (the compte rendu, French text of any length) and links to its "
    "documents. Written by those who manage the group (403 otherwise; 404 when the group is not the "
    "caller's to see). Send `Idempotency-Key` to retry safely.",
    responses=problem_responses(404, 422),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_meeting(
    group_id: uuid.UUID,
    data: MeetingCreate,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
) -> Response:
    group = await service.group_to_change(session, group_id, principal=principal, regions=regions)
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    meeting = await service.create_meeting(session, group, data=data, principal=principal)
    headers = {
        "Location": f"/api/v1/debates/meetings/{meeting.id}",
        "ETag": etag(meeting.id, meeting.version),
    }
    return await create.respond(MeetingRead.of(meeting), status_code=201, headers=headers)


@router.get(
    "/working-groups/{group_id}/meetings",
    response_model=Page[MeetingRead],
    summary="The meetings of a working group, by date",
    description="404 when the group is not the caller's to see.",
    responses=problem_responses(404),
)
async def list_meetings(
    group_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    include_archived: IncludeArchived,
) -> Page[MeetingRead]:
    return await service.list_meetings(
        session, group_id, regions=regions, params=page, include_archived=include_archived
    )


@router.get(
    "/meetings/{meeting_id}",
    response_model=MeetingRead,
    summary="One meeting of a working group",
    description="404 when its group is not the caller's to see, or when it is archived (unless "
    "include_archived).",
    responses=problem_responses(404),
)
async def get_meeting(
    meeting_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    include_archived: IncludeArchived,
    response: Response,
) -> MeetingRead:
    meeting, _group = await service.get_meeting(
        session, meeting_id, regions=regions, include_archived=include_archived
    )
    response.headers["ETag"] = etag(meeting.id, meeting.version)
    return MeetingRead.of(meeting)


@router.patch(
    "/meetings/{meeting_id}",
    response_model=MeetingRead,
    summary="Change a meeting: its synthesis, documents… (If-Match required)",
    description="Written by those who manage its group.",
    responses=problem_responses(404, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_meeting(
    meeting_id: uuid.UUID,
    data: MeetingUpdate,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    response: Response,
) -> MeetingRead:
    meeting = await service.meeting_to_change(session, meeting_id, principal=principal, regions=regions)
    check_if_match(request, etag(meeting.id, meeting.version))
    meeting = await service.update_meeting(session, meeting, data=data, principal=principal)
    response.headers["ETag"] = etag(meeting.id, meeting.version)
    return MeetingRead.of(meeting)


add_archive_routes(
    router,
    "/meetings/{meeting_id}",
    name="meeting",
    label="a meeting",
    to_change=service.meeting_to_change,
    set_archived=service.set_archived,
    read_model=MeetingRead,
    manager=Manager,
    archive_description=("Archived, not erased; `POST …/restore` brings it back. 409 when already archived."),
    restore_description=(
        "The ETag of the archived meeting (read with include_archived=true). 409 when not archived."
    ),
)


@router.get(
    "/meetings/{meeting_id}/history",
    response_model=Page[HistoryEntry],
    summary="Who changed this meeting, when, old → new",
    description="Newest first. Fields: `group_id`, `date`, `place`, `title`, `synthesis`, `documents`; "
    "archive and restore as their own entries.",
    responses=problem_responses(404),
)
async def get_meeting_history(
    meeting_id: uuid.UUID, session: SessionDep, regions: VisibleRegions, page: PageDep
) -> Page[HistoryEntry]:
    return await service.meeting_history(session, meeting_id, regions=regions, params=page)


@router.post(
    "/working-groups/{group_id}/proposals",
    response_model=ProposalRead,
    status_code=status.HTTP_201_CREATED,
    summary="Record a proposal of a working group",
    description="Tied to one lever or more (checked against the levers service), optionally to one of the "
    "group's meetings (422 otherwise), with its proposer (a person or a collectivité). Written by those who "
    "manage the group. `status` is never `promue` here: promote the proposal. Send `Idempotency-Key` to "
    "retry safely.",
    responses=problem_responses(404, 422, 502, 503, 504),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_proposal(
    group_id: uuid.UUID,
    data: ProposalCreate,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    levers: LeversDep,
) -> Response:
    group = await service.group_to_change(session, group_id, principal=principal, regions=regions)
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    proposal = await service.create_proposal(session, group, data=data, principal=principal, levers=levers)
    location = f"/api/v1/debates/proposals/{proposal.id}"
    headers = {"Location": location, "ETag": etag(proposal.id, proposal.version)}
    return await create.respond(ProposalRead.of(proposal), status_code=201, headers=headers)


@router.get(
    "/working-groups/{group_id}/proposals",
    response_model=Page[ProposalRead],
    summary="The proposals of a working group",
    description="Oldest first. 404 when the group is not the caller's to see.",
    responses=problem_responses(404),
)
async def list_proposals(
    group_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[ProposalFilters, Query()],
    include_archived: IncludeArchived,
) -> Page[ProposalRead]:
    return await service.list_proposals(
        session, group_id, filters=filters, regions=regions, params=page, include_archived=include_archived
    )


@router.get(
    "/proposals/{proposal_id}",
    response_model=ProposalRead,
    summary="One proposal",
    description="404 when its group is not the caller's to see, or when it is archived (unless "
    "include_archived). `action_id` is the COP action it was promoted to.",
    responses=problem_responses(404),
)
async def get_proposal(
    proposal_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    include_archived: IncludeArchived,
    response: Response,
) -> ProposalRead:
    proposal, _group = await service.get_proposal(
        session, proposal_id, regions=regions, include_archived=include_archived
    )
    response.headers["ETag"] = etag(proposal.id, proposal.version)
    return ProposalRead.of(proposal)


@router.patch(
    "/proposals/{proposal_id}",
    response_model=ProposalRead,
    summary="Change a proposal (If-Match required)",
    description="`status` between `ouverte`, `retenue` and `ecartee`; a promoted proposal stays `promue` "
    "(422).",
    responses=problem_responses(404, 412, 422, 428, 502, 503, 504),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_proposal(
    proposal_id: uuid.UUID,
    data: ProposalUpdate,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    levers: LeversDep,
    response: Response,
) -> ProposalRead:
    proposal, group = await service.proposal_to_change(
        session, proposal_id, principal=principal, regions=regions
    )
    check_if_match(request, etag(proposal.id, proposal.version))
    proposal = await service.update_proposal(
        session, proposal, group, data=data, principal=principal, levers=levers
    )
    response.headers["ETag"] = etag(proposal.id, proposal.version)
    return ProposalRead.of(proposal)


async def _proposal_to_change(
    session: AsyncSession,
    proposal_id: uuid.UUID,
    /,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    include_archived: bool = False,
) -> Proposal:
    """`service.proposal_to_change` without its group, which archiving does not need."""
    proposal, _group = await service.proposal_to_change(
        session, proposal_id, principal=principal, regions=regions, include_archived=include_archived
    )
    return proposal


add_archive_routes(
    router,
    "/proposals/{proposal_id}",
    name="proposal",
    label="a proposal",
    to_change=_proposal_to_change,
    set_archived=service.set_archived,
    read_model=ProposalRead,
    manager=Manager,
    archive_description=("Archived, not erased; `POST …/restore` brings it back. 409 when already archived."),
    restore_description=(
        "The ETag of the archived proposal (read with include_archived=true). 409 when not archived."
    ),
)


@router.post(
    "/proposals/{proposal_id}/promote",
    response_model=ActionRead,
    status_code=status.HTTP_201_CREATED,
    summary="Promote a proposal to a COP action (If-Match required)",
    description="Creates the COP action (title, description, the levers: the first the main one; `status` "
    "`proposee` or `retenue`; on `territory`, the group's owner when omitted) with the checks and scope of "
    "an action's creation (403 when the caller may not act on the territory). The action's `proposal_id` "
    "and the proposal's `action_id` (now `promue`) link them. 409 `already-promoted` the second time. The "
    "If-Match is the proposal's ETag.",
    responses=problem_responses(404, 409, 412, 422, 428, 502, 503, 504),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def promote_proposal(
    proposal_id: uuid.UUID,
    data: Promotion,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    levers: LeversDep,
) -> Response:
    proposal, group = await service.proposal_to_change(
        session, proposal_id, principal=principal, regions=regions
    )
    check_if_match(request, etag(proposal.id, proposal.version))
    action = await service.promote_proposal(
        session, proposal, group, data=data, principal=principal, levers=levers
    )
    body = ActionRead.of(action).model_dump(mode="json")
    headers = {"Location": f"/api/v1/actions/{action.id}", "ETag": etag(action.id, action.version)}
    return JSONResponse(body, status_code=201, headers=headers)


@router.get(
    "/proposals/{proposal_id}/history",
    response_model=Page[HistoryEntry],
    summary="Who changed this proposal, when, old → new",
    description="Newest first. Fields: `group_id`, `meeting_id`, `title`, `description`, `lever_ids`, "
    "`proposer`, `status`, `action_id`; archive, restore and `promote` as their own entries.",
    responses=problem_responses(404),
)
async def get_proposal_history(
    proposal_id: uuid.UUID, session: SessionDep, regions: VisibleRegions, page: PageDep
) -> Page[HistoryEntry]:
    return await service.proposal_history(session, proposal_id, regions=regions, params=page)


async def _meetings_file(
    group_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    include_archived: IncludeArchived,
) -> GroupFile[MeetingRead]:
    group = await service.get_group(session, group_id, regions=regions)
    meetings = await service.list_meetings(
        session, group_id, regions=regions, params=page, include_archived=include_archived
    )
    return GroupFile(WorkingGroupRead.of(group), meetings)


add_export_route(
    router,
    "/working-groups/{group_id}/meetings",
    _meetings_file,
    name="export_meetings",
    summary="The syntheses of a working group's meetings as a CSV or XLSX file",
    description="The page of `listMeetings` (same parameters; `page_size` up to 500), one row per meeting "
    "with its whole synthesis and its documents; the file's metadata give the group, its owner, the "
    "source and the licence (Licence Ouverte 2.0). 404 when the group is not the caller's to see.",
    filename=lambda view, _arguments: exports.filename(view, "syntheses"),
    table=exports.meetings_table,
    responses=problem_responses(404),
)


async def _proposals_file(
    group_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[ProposalFilters, Query()],
    include_archived: IncludeArchived,
) -> GroupFile[ProposalRead]:
    group = await service.get_group(session, group_id, regions=regions)
    proposals = await service.list_proposals(
        session, group_id, filters=filters, regions=regions, params=page, include_archived=include_archived
    )
    return GroupFile(WorkingGroupRead.of(group), proposals)


add_export_route(
    router,
    "/working-groups/{group_id}/proposals",
    _proposals_file,
    name="export_proposals",
    summary="A working group's proposals as a CSV or XLSX file",
    description="The page of `listProposals` (same parameters and filters; `page_size` up to 500), one row "
    "per proposal with its levers, status, proposer and the action it was promoted to; the file's metadata "
    "give the group, its owner, the source and the licence (Licence Ouverte 2.0). 404 when the group is "
    "not the caller's to see.",
    filename=lambda view, _arguments: exports.filename(view, "propositions"),
    table=exports.proposals_table,
    responses=problem_responses(404),
)
