"""Campaigns of the diagnostic: a questionnaire sent to the collectivités of a région or a département."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from planeco_diagnostic.campaigns import service
from planeco_diagnostic.campaigns.schemas import (
    CampaignCreate,
    CampaignFilters,
    CampaignRead,
    CampaignUpdate,
    InviteeFilters,
    InviteeRead,
)
from planeco_diagnostic.db import IdempotencyKey
from planeco_diagnostic.invitations.router import Today
from planeco_shared.concurrency import IF_MATCH_REQUIRED, check_if_match, etag
from planeco_shared.database import SessionDep
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import Principal, RequireRole, Role
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, VisibleRegions

router = APIRouter(prefix="/campaigns", tags=["campaigns"], responses=problem_responses(401, 403))

Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]


@router.post(
    "",
    response_model=CampaignRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a campaign: a questionnaire sent to a territory's collectivités",
    description="For a région or a département (its coordinators, and those of its région; admins). The "
    "questionnaire must be national or its territory's own, not retired, not empty, and for the respondent "
    "types invited; the campaign locks it. The invitees (the région, its départements, its EPCI by nature, "
    "optionally its communes; all départements or some) are resolved from the levers service's territories "
    "and stored as they are that day. Send `Idempotency-Key` to retry safely.",
    responses=problem_responses(409, 422, 502, 503, 504),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_campaign(
    data: CampaignCreate, request: Request, session: SessionDep, principal: Manager, levers: LeversDep
) -> Response:
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    campaign, counts = await service.create_campaign(session, data=data, principal=principal, levers=levers)
    headers = {"Location": f"/api/v1/campaigns/{campaign.id}", "ETag": etag(campaign.id, campaign.version)}
    return await create.respond(CampaignRead.of(campaign, counts), status_code=201, headers=headers)


@router.get(
    "", response_model=Page[CampaignRead], summary="List campaigns (those of the régions you may see)"
)
async def list_campaigns(
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[CampaignFilters, Query()],
) -> Page[CampaignRead]:
    return await service.list_campaigns(session, filters, regions=regions, params=page)


@router.get(
    "/{campaign_id}",
    response_model=CampaignRead,
    summary="One campaign",
    description="404 for a campaign of a région you may not see.",
    responses=problem_responses(404),
)
async def get_campaign(
    campaign_id: uuid.UUID, session: SessionDep, regions: VisibleRegions, response: Response
) -> CampaignRead:
    campaign, counts = await service.get_campaign(session, campaign_id, regions=regions)
    response.headers["ETag"] = etag(campaign.id, campaign.version)
    return CampaignRead.of(campaign, counts)


@router.patch(
    "/{campaign_id}",
    response_model=CampaignRead,
    summary="Change a campaign's title or dates (If-Match required)",
    description="Its coordinators (and admins). Extend the closing date (a closed campaign opens again "
    "until then: its invitation tokens work again) or bring it forward to close sooner (yesterday: closed "
    "from today on); move the opening date while the campaign has not opened. Dates are French calendar "
    "days. When a date changes, the campaign's invitations and reminders still queued in the outbox are "
    "withdrawn (`failed`, the reason says so: their text gives the old dates); send them again. 409 when "
    "the opening date of an opened campaign is changed; 422 naming the date out of order or in the past. "
    "The questionnaire, owner, panorama version and invitees stay as created. Audited.",
    responses=problem_responses(404, 409, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def update_campaign(
    campaign_id: uuid.UUID,
    data: CampaignUpdate,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    day: Today,
    response: Response,
) -> CampaignRead:
    campaign, counts = await service.campaign_to_change(
        session, campaign_id, principal=principal, regions=regions
    )
    check_if_match(request, etag(campaign.id, campaign.version))
    campaign = await service.update_campaign(session, campaign, data, principal=principal, today=day)
    response.headers["ETag"] = etag(campaign.id, campaign.version)
    return CampaignRead.of(campaign, counts)


@router.get(
    "/{campaign_id}/invitees",
    response_model=Page[InviteeRead],
    summary="The collectivités invited to a campaign",
    description="As the levers service described them when the campaign was created; by type, then "
    "département, then code.",
    responses=problem_responses(404),
)
async def list_campaign_invitees(
    campaign_id: uuid.UUID,
    session: SessionDep,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[InviteeFilters, Query()],
) -> Page[InviteeRead]:
    return await service.list_invitees(session, campaign_id, filters, regions=regions, params=page)
