"""Responses: by invitation token (`/api/v1/answer/response`, header `X-Invitation-Token`) and by an
authenticated caller (`/api/v1/campaigns/{campaign_id}/responses/{code}`)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response

from planeco_diagnostic.invitations.router import INVITATION_TOKEN, InvitationDep, Today
from planeco_diagnostic.responses import service
from planeco_diagnostic.responses.schemas import AnswersUpdate, CampaignStats, ResponseRead
from planeco_shared.concurrency import IF_MATCH_REQUIRED
from planeco_shared.database import SessionDep
from planeco_shared.history import HistoryEntry
from planeco_shared.identity import Authenticated, require_authenticated
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import VisibleRegions

SAVE = (
    "A partial save of the draft: each item named in `answers` gets that answer (null clears it), the "
    "others keep theirs. Send If-Match with the ETag you read (`*` or the ETag of a not-started response "
    "to start one). Every answer is checked against the questionnaire (unknown item, item not for this "
    "respondent type, value outside its scale, bounds, options, a quantity where the item asks none): a "
    "422 lists every problem with the item key in `loc` and saves nothing. 409 once submitted."
)

router = APIRouter(
    prefix="/campaigns",
    tags=["responses"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403, 404),
)
answer_router = APIRouter(prefix="/answer", tags=["responses"], responses=problem_responses(401, 404, 429))


@answer_router.get(
    "/response",
    response_model=ResponseRead,
    summary="The response a token answers (by invitation token)",
    description="`status: not_started` until the first save. The ETag is the one to send with If-Match.",
    openapi_extra=INVITATION_TOKEN,
)
async def get_token_response(found: InvitationDep, session: SessionDep, response: Response) -> ResponseRead:
    read, tag = await service.read_by_token(session, found)
    response.headers["ETag"] = tag
    return read


@answer_router.patch(
    "/response",
    response_model=ResponseRead,
    summary="Save answers of the draft (by invitation token)",
    description=SAVE,
    responses=problem_responses(409, 412, 422, 428),
    openapi_extra=INVITATION_TOKEN | IF_MATCH_REQUIRED,
)
async def save_token_response(
    data: AnswersUpdate, found: InvitationDep, session: SessionDep, request: Request, response: Response
) -> ResponseRead:
    read, response.headers["ETag"] = await service.save_by_token(session, request, found, data)
    return read


@answer_router.post(
    "/response/submission",
    response_model=ResponseRead,
    summary="Submit the response (by invitation token)",
    description="Then read only, unless a coordinator reopens it. Submitting again changes nothing. 409 "
    "when nothing was saved.",
    responses=problem_responses(409),
    openapi_extra=INVITATION_TOKEN,
)
async def submit_token_response(
    found: InvitationDep, session: SessionDep, response: Response
) -> ResponseRead:
    read, response.headers["ETag"] = await service.submit_by_token(session, found)
    return read


@router.get(
    "/{campaign_id}/responses/{code}",
    response_model=ResponseRead,
    summary="An invitee's response",
    description="For the coordinators of the campaign's owner, the collectivité's contributors, admins.",
)
async def get_response(
    campaign_id: uuid.UUID,
    code: str,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    response: Response,
) -> ResponseRead:
    read, response.headers["ETag"] = await service.read_response(
        session, campaign_id, code, principal=principal, regions=regions
    )
    return read


@router.patch(
    "/{campaign_id}/responses/{code}",
    response_model=ResponseRead,
    summary="Save answers of an invitee's draft",
    description="By a contributor of the collectivité (or an admin), while the campaign is open (409 "
    "otherwise). " + SAVE,
    responses=problem_responses(409, 412, 422, 428),
    openapi_extra=IF_MATCH_REQUIRED,
)
async def save_response(
    campaign_id: uuid.UUID,
    code: str,
    data: AnswersUpdate,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    day: Today,
    request: Request,
    response: Response,
) -> ResponseRead:
    read, response.headers["ETag"] = await service.save_response(
        session, request, campaign_id, code, data, principal=principal, regions=regions, today=day
    )
    return read


@router.post(
    "/{campaign_id}/responses/{code}/submission",
    response_model=ResponseRead,
    summary="Submit an invitee's response",
    description="By a contributor of the collectivité (or an admin), while the campaign is open. Then read "
    "only unless a coordinator reopens it; submitting again changes nothing.",
    responses=problem_responses(409),
)
async def submit_response(
    campaign_id: uuid.UUID,
    code: str,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    day: Today,
    response: Response,
) -> ResponseRead:
    read, response.headers["ETag"] = await service.submit_response(
        session, campaign_id, code, principal=principal, regions=regions, today=day
    )
    return read


@router.post(
    "/{campaign_id}/responses/{code}/reopening",
    response_model=ResponseRead,
    summary="Reopen a submitted response (back to draft)",
    description="For the coordinators of the campaign's owner and admins, until the campaign's closing "
    "date: once it is closed the responses are read only, and a reopened response could never be "
    "submitted again (the synthesis counts submitted responses only). 409 after the closing date, and "
    "unless it is submitted.",
    responses=problem_responses(409),
)
async def reopen_response(
    campaign_id: uuid.UUID,
    code: str,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    day: Today,
    response: Response,
) -> ResponseRead:
    read, response.headers["ETag"] = await service.reopen_response(
        session, campaign_id, code, principal=principal, regions=regions, today=day
    )
    return read


@router.get(
    "/{campaign_id}/responses/{code}/history",
    response_model=Page[HistoryEntry],
    summary="Who changed this response, when, old → new",
    description="Newest first. Fields: `status`, then one per item key (its answer, old → new). The actor "
    "of a change made with an invitation token is `invitation:<invitee id>`. Readable by those who read "
    "the response.",
)
async def get_response_history(
    campaign_id: uuid.UUID,
    code: str,
    session: SessionDep,
    principal: Authenticated,
    regions: VisibleRegions,
    page: PageDep,
) -> Page[HistoryEntry]:
    return await service.response_history(
        session, campaign_id, code, principal=principal, regions=regions, params=page
    )


@router.get(
    "/{campaign_id}/stats",
    response_model=CampaignStats,
    summary="Response rates of a campaign: invited, started, submitted",
    description="Counted at each request (live), overall, per collectivité type and per département (the "
    "région itself has none). Counts are exact and the parts of each breakdown add up to the overall "
    "counts; the rates (started / invited, submitted / invited) are decimal strings to 4 places, rounded "
    "half to even. For the coordinators of the campaign's owner and admins.",
)
async def get_campaign_stats(
    campaign_id: uuid.UUID, session: SessionDep, principal: Authenticated, regions: VisibleRegions
) -> CampaignStats:
    return await service.campaign_stats(session, campaign_id, principal=principal, regions=regions)
