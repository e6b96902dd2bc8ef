"""E-mailed invitations and reminders, tokens for a mail-merge, the non-respondents (see the service)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from planeco_diagnostic.db import IdempotencyKey
from planeco_diagnostic.invitations.router import Today
from planeco_diagnostic.mailings import service
from planeco_diagnostic.mailings.schemas import (
    InviteeChoice,
    MailingCreate,
    MailingKind,
    MailingResult,
    NonRespondentFilters,
    NonRespondentRead,
)
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.database import SessionDep
from planeco_shared.idempotency import IDEMPOTENCY_KEY, idempotent_create
from planeco_shared.identity import Principal, RequireRole, Role, require_authenticated
from planeco_shared.pagination import Page, PageDep
from planeco_shared.problems import problem_responses
from planeco_shared.runtime import LeversDep, RuntimeDep, VisibleRegions
from planeco_shared.tabular import (
    MEDIA_TYPES,
    RepresentationDep,
    add_export_route,
    ascii_filename,
    file_responses,
    render,
)

router = APIRouter(
    prefix="/campaigns",
    tags=["invitations"],
    dependencies=[Depends(require_authenticated)],
    responses=problem_responses(401, 403, 404),
)
Manager = Annotated[Principal, Depends(RequireRole(Role.coordinator))]

WHO = "For the coordinators of the campaign's owner and admins (a campaign of another région: 404)."
MAILING = (
    "Each invitee written to gets a **new invitation token** (only hashes are kept, so a mail can carry a "
    "token only when it is issued): the link of an earlier mail stops working, the draft stays. The link "
    "is the front end's answer page with the token in its fragment (`…/repondre#jeton=<token>`), never in "
    "a query string that would be logged. One e-mail per invitee to its primary contact (`all_contacts`: "
    "to each of its contacts); invitees without a contact are listed in `without_contact` and keep their "
    "token. Reply-To: your e-mail, or else the primary contact of the campaign's owner. The e-mails are "
    "queued in the outbox (`listOutbox`) and sent by the `send-mail` job. 409 once the campaign has "
    "closed. Send `Idempotency-Key` to retry safely (a replay queues nothing). " + WHO
)


def _settings(runtime: RuntimeDep) -> DiagnosticSettings:
    settings = runtime.settings
    assert isinstance(settings, DiagnosticSettings)
    return settings


async def _mailing(
    kind: MailingKind,
    campaign_id: uuid.UUID,
    data: MailingCreate | None,
    request: Request,
    session: SessionDep,
    principal: Principal,
    regions: frozenset[str] | None,
    day: Today,
    levers: LeversDep,
    runtime: RuntimeDep,
) -> Response:
    create = await idempotent_create(session, IdempotencyKey, request, subject=principal.subject)
    if create.replay is not None:
        return create.replay
    result = await service.send_mailing(
        session,
        campaign_id,
        data,
        kind=kind,
        principal=principal,
        regions=regions,
        today=day,
        levers=levers,
        settings=_settings(runtime),
    )
    return await create.respond(result, status_code=200, headers={})


@router.post(
    "/{campaign_id}/invitations",
    response_model=MailingResult,
    status_code=status.HTTP_200_OK,
    summary="E-mail the invitations of a campaign",
    description="To every invitee, or those the body chooses (codes, types, départements; all apply). "
    + MAILING,
    responses=problem_responses(409, 422),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def send_campaign_invitations(
    campaign_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    day: Today,
    levers: LeversDep,
    runtime: RuntimeDep,
    data: MailingCreate | None = None,
) -> Response:
    return await _mailing(
        MailingKind.invitation, campaign_id, data, request, session, principal, regions, day, levers, runtime
    )


@router.post(
    "/{campaign_id}/reminders",
    response_model=MailingResult,
    status_code=status.HTTP_200_OK,
    summary="E-mail reminders to the non-respondents of a campaign",
    description="To the chosen invitees (all by default) that have not submitted their response (not "
    "started, or a draft): those who submitted are never written to (`already_submitted` counts them). "
    + MAILING,
    responses=problem_responses(409, 422),
    openapi_extra=IDEMPOTENCY_KEY,
)
async def send_campaign_reminders(
    campaign_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    day: Today,
    levers: LeversDep,
    runtime: RuntimeDep,
    data: MailingCreate | None = None,
) -> Response:
    return await _mailing(
        MailingKind.relance, campaign_id, data, request, session, principal, regions, day, levers, runtime
    )


@router.post(
    "/{campaign_id}/invitation-tokens",
    summary="Issue invitation tokens for a mail-merge (a CSV or XLSX file)",
    description="A new token for every invitee, or those the body chooses (codes, types, départements): "
    "each replaces the invitee's previous token. The file (`code`, `name`, `type`, `departement`, "
    "`contact_email`, `contact_name`, `token`, `link`) is the only place the tokens are shown: keep it "
    "safe. Not idempotent by design (each call gives new tokens). 409 once the campaign has closed. " + WHO,
    response_class=Response,
    responses={**file_responses("The tokens, one row per invitee"), **problem_responses(409, 422)},
)
async def issue_campaign_invitation_tokens(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    day: Today,
    runtime: RuntimeDep,
    representation: RepresentationDep,
    data: InviteeChoice | None = None,
) -> Response:
    campaign, table = await service.issue_tokens(
        session,
        campaign_id,
        data,
        principal=principal,
        regions=regions,
        today=day,
        settings=_settings(runtime),
    )
    filename = ascii_filename(f"planeco-jetons-{campaign.id}") + f".{representation.format.value}"
    return Response(
        render(table, representation),
        media_type=MEDIA_TYPES[representation.format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get(
    "/{campaign_id}/non-respondents",
    response_model=Page[NonRespondentRead],
    summary="The invitees that have not submitted their response",
    description="Not started or a draft; by type, then département, then code; with the primary contact's "
    "e-mail. " + WHO,
)
async def list_campaign_non_respondents(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    page: PageDep,
    filters: Annotated[NonRespondentFilters, Query()],
) -> Page[NonRespondentRead]:
    return await service.list_non_respondents(
        session, campaign_id, filters, principal=principal, regions=regions, params=page
    )


async def _non_respondents_for_export(
    campaign_id: uuid.UUID,
    session: SessionDep,
    principal: Manager,
    regions: VisibleRegions,
    filters: Annotated[NonRespondentFilters, Query()],
) -> list[NonRespondentRead]:
    return await service.all_non_respondents(
        session, campaign_id, filters, principal=principal, regions=regions
    )


add_export_route(
    router,
    "/{campaign_id}/non-respondents",
    _non_respondents_for_export,
    name="export_campaign_non_respondents",
    summary="The non-respondents as a CSV or XLSX file",
    description="What `listCampaignNonRespondents` shows (every page, at most 50,000 rows). " + WHO,
    filename=lambda _view, arguments: ascii_filename(
        f"planeco-sans-reponse-{arguments['campaign_id']}"
        + "".join(f"-{value}" for value in arguments["filters"].model_dump(mode="json").values() if value)
    ),
    table=service.non_respondents_table,
)
