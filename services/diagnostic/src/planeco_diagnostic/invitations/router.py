"""Invitation tokens of a campaign's invitees (managed by the owner's coordinators), and the
token-authenticated entry of a respondent without an account: `/api/v1/answer`, the token in the
`X-Invitation-Token` header (never in a URL, which gets logged)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from planeco_diagnostic.invitations import service
from planeco_diagnostic.invitations.schemas import TOKEN_HEADER, InvitationRead, TokenIssued
from planeco_diagnostic.questionnaires.document import QuestionnaireDocument
from planeco_diagnostic.questionnaires.service import campaign_document
from planeco_shared.database import SessionDep
from planeco_shared.identity import Principal, RequireRole, Role, require_authenticated
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import VisibleRegions

PARIS = ZoneInfo("Europe/Paris")
# The operations a token opens: the contract shows this scheme instead of the ApiKey/Bearer ones.
INVITATION_TOKEN: dict[str, Any] = {"security": [{"InvitationToken": []}]}


def today() -> dt.date:
    """The campaigns' dates are French calendar days."""
    return dt.datetime.now(PARIS).date()


Today = Annotated[dt.date, Depends(today)]
Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]

router = APIRouter(
    prefix="/campaigns",
    tags=["invitations"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403),
)
answer_router = APIRouter(prefix="/answer", tags=["invitations"])


def invitation_token(request: Request) -> str | None:
    return request.headers.get(TOKEN_HEADER)


async def invitation(session: SessionDep, request: Request, day: Today) -> service.Invitation:
    """The invitation the request's token opens (404 otherwise, whatever the reason)."""
    return await service.invitation_of(session, invitation_token(request), today=day)


InvitationDep = Annotated[service.Invitation, Depends(invitation)]


@router.post(
    "/{campaign_id}/invitees/{code}/token",
    response_model=TokenIssued,
    status_code=status.HTTP_200_OK,
    summary="Issue (or rotate) an invitee's invitation token",
    description="For the coordinators of the campaign's owner (and admins). The token is shown in this "
    "response only (only its hash is kept); a previous token of the invitee stops working. 409 once the "
    "campaign has closed. Not idempotent by design: each call gives a new token.",
    responses=problem_responses(404, 409),
)
async def issue_invitation_token(
    campaign_id: uuid.UUID,
    code: str,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    day: Today,
    response: Response,
) -> TokenIssued:
    response.headers["Cache-Control"] = "no-store"
    return await service.issue_token(
        session, campaign_id, code, principal=principal, regions=regions, today=day
    )


@router.delete(
    "/{campaign_id}/invitees/{code}/token",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Revoke an invitee's invitation token",
    description="For the coordinators of the campaign's owner (and admins). 404 when it has no valid token.",
    responses=problem_responses(404),
)
async def revoke_invitation_token(
    campaign_id: uuid.UUID, code: str, session: SessionDep, principal: Manager, regions: VisibleRegions
) -> Response:
    await service.revoke_token(session, campaign_id, code, principal=principal, regions=regions)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@answer_router.get(
    "",
    response_model=InvitationRead,
    summary="What an invitation token opens: its invitee and campaign",
    description=f"Authenticated by the `{TOKEN_HEADER}` header alone (no account). The same 404 for a "
    "missing, unknown, revoked or rotated-away token and for a campaign that is not open (before its "
    "opening date or after its closing date); repeated 404s from one client are rate-limited by the gateway.",
    responses=problem_responses(401, 404, 429),
    openapi_extra=INVITATION_TOKEN,
)
async def get_invitation(found: InvitationDep) -> InvitationRead:
    campaign, invitee = found.campaign, found.invitee
    return InvitationRead(
        campaign_id=campaign.id,
        campaign_title=campaign.title,
        opening_date=campaign.opening_date,
        closing_date=campaign.closing_date,
        questionnaire_id=campaign.questionnaire_id,
        code=invitee.code,
        name=invitee.name,
        type=invitee.type,
        departement=invitee.departement,
    )


@answer_router.get(
    "/questionnaire",
    response_model=QuestionnaireDocument,
    summary="The questionnaire a token answers: its campaign's document",
    description=f"Authenticated by the `{TOKEN_HEADER}` header alone: a respondent without an account reads "
    "the questions here (`GET /questionnaires/{id}/document` needs an account). The whole document "
    "(`planeco-questionnaire/1`); an item's `respondent_types` say whether it is for this invitee's type. "
    "The same 404 as `GET /answer` for a token that opens nothing.",
    responses=problem_responses(401, 404, 429),
    openapi_extra=INVITATION_TOKEN,
)
async def get_invitation_questionnaire(found: InvitationDep, session: SessionDep) -> Response:
    document = await campaign_document(session, found.campaign.questionnaire_id)
    return JSONResponse(document.model_dump(mode="json"))
