"""Campaigns: a coordinator (or an admin) sends a questionnaire to the collectivités of a région or a
département. Creating one checks the questionnaire (usable by that territory, not retired, not empty),
the panorama version and the invitee selection, resolves the invitees through the levers service (the
territories as they are that day, stored with the campaign), and locks the questionnaire."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, InviteeType
from planeco_diagnostic.campaigns.repository import CampaignRepository
from planeco_diagnostic.campaigns.schemas import (
    CampaignCreate,
    CampaignFilters,
    CampaignRead,
    CampaignUpdate,
    InviteeFilters,
    InviteeNature,
    InviteeRead,
    InviteeSelection,
)
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations.service import owner_territory
from planeco_diagnostic.outbox import service as outbox
from planeco_diagnostic.questionnaires import service as questionnaires
from planeco_diagnostic.questionnaires.models import QuestionnaireStatus
from planeco_diagnostic.questionnaires.repository import QuestionnaireRepository
from planeco_shared import audit
from planeco_shared.archive import is_hidden
from planeco_shared.clients.base import ReferenceCheck
from planeco_shared.clients.levers import LeversClient
from planeco_shared.identity import Principal
from planeco_shared.owners import OwnerLevel
from planeco_shared.pagination import Page, PageParams, paginate, paginate_into
from planeco_shared.problems import Conflict, FieldError, NotFound, UnprocessableEntity
from planeco_shared.scopes import Territory, ensure_may_act_on

ENTITY = "campaign"
FIELDS = [
    "questionnaire_id",
    "owner_level",
    "owner_code",
    "title",
    "opening_date",
    "closing_date",
    "panorama_version",
    "selection",
]
EPCI_TYPES = {
    InviteeNature.ME: InviteeType.metropole,
    InviteeNature.MET69: InviteeType.metropole,
    InviteeNature.CU: InviteeType.cu,
    InviteeNature.CA: InviteeType.ca,
    InviteeNature.CC: InviteeType.cc,
}
# The questionnaire's respondent type each selected kind of invitee needs.
RESPONDENT_TYPE = {
    "region": "region",
    "departements": "departement",
    "epci_natures": "epci",
    "communes": "commune",
}


def _refuse(errors: list[FieldError]) -> None:
    if errors:
        raise UnprocessableEntity("The campaign cannot be created as asked; see `errors`.", errors=errors)


async def create_campaign(
    session: AsyncSession, *, data: CampaignCreate, principal: Principal, levers: LeversClient
) -> tuple[Campaign, dict[InviteeType, int]]:
    level, code, region = await questionnaires.resolve_owner(data.owner, levers=levers, loc=["body", "owner"])
    assert code is not None and region is not None  # a campaign's owner is never the nation
    territory = (
        Territory.region(code) if level is OwnerLevel.region else Territory.departement(code, region=region)
    )
    ensure_may_act_on(principal, territory)

    errors: list[FieldError] = []
    at_questionnaire: list[str | int] = ["body", "questionnaire_id"]
    questionnaire = await QuestionnaireRepository(session).get(data.questionnaire_id)
    if questionnaire is None or is_hidden(questionnaire, False):
        _refuse(
            [
                FieldError(
                    loc=at_questionnaire, msg=f"No questionnaire {data.questionnaire_id}", type="not_found"
                )
            ]
        )
    assert questionnaire is not None
    owner = questionnaires.owner_territory(questionnaire)
    if owner is not None and not territory.lies_in(owner):
        errors.append(
            FieldError(
                loc=at_questionnaire,
                msg=f"The questionnaire belongs to {owner.level.value} {owner.code}: a campaign of "
                f"{territory.level.value} {territory.code} cannot use it",
                type="out_of_territory",
            )
        )
    if questionnaire.status is QuestionnaireStatus.archived:
        errors.append(FieldError(loc=at_questionnaire, msg="The questionnaire is retired", type="retired"))
    if not questionnaire.sections:
        errors.append(FieldError(loc=at_questionnaire, msg="The questionnaire has no sections", type="empty"))
    selection = data.invitees
    at_selection: list[str | int] = ["body", "invitees"]
    if level is OwnerLevel.departement and selection.region:
        errors.append(
            FieldError(
                loc=[*at_selection, "region"],
                msg="A département's campaign invites no région: set region to false",
                type="not_allowed",
            )
        )
    asked = {
        "region": selection.region,
        "departements": selection.departements,
        "epci_natures": bool(selection.epci_natures),
        "communes": selection.communes,
    }
    for field, wanted in asked.items():
        if wanted and RESPONDENT_TYPE[field] not in questionnaire.respondent_types:
            errors.append(
                FieldError(
                    loc=[*at_selection, field],
                    msg=f"The questionnaire is not for respondents of type {RESPONDENT_TYPE[field]!r}",
                    type="not_a_respondent_type",
                )
            )
    if not any(asked.values()):
        errors.append(FieldError(loc=at_selection, msg="The selection invites no one", type="empty"))

    check = ReferenceCheck()
    panorama = await check.exists(
        levers.get_panorama_version(data.panorama_version),
        loc=["body", "panorama_version"],
        what=f"panorama version {data.panorama_version}",
    )
    errors.extend(check.errors)
    departements = await levers.list_departements(region=region)
    perimeter = {d.code for d in departements} if level is OwnerLevel.region else {code}
    for n, departement in enumerate(selection.departement_codes or ()):
        if departement not in perimeter:
            errors.append(
                FieldError(
                    loc=[*at_selection, "departement_codes", n],
                    msg=f"The département {departement} is not in {territory.level.value} {territory.code}",
                    type="out_of_territory",
                )
            )
    _refuse(errors)
    assert panorama is not None
    if selection.departement_codes is not None:
        perimeter = set(selection.departement_codes)

    invitees = await _resolve_invitees(levers, selection, region=region, level=level, perimeter=perimeter)
    campaign = Campaign(
        id=uuid.uuid4(),
        questionnaire_id=questionnaire.id,
        owner_level=level,
        owner_code=code,
        owner_region=region,
        title=data.title,
        opening_date=data.opening_date,
        closing_date=data.closing_date,
        panorama_version=panorama.version,
        selection=selection.model_dump(mode="json"),
        created_by=principal.subject,
    )
    await CampaignRepository(session).add(campaign, invitees)
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="create",
        entity_type=ENTITY,
        entity_id=str(campaign.id),
        changes=audit.snapshot(campaign, FIELDS) | {"invitees": len(invitees)},
    )
    await questionnaires.lock(session, questionnaire, principal=principal, reason="lock")
    counts: dict[InviteeType, int] = {}
    for invitee in invitees:
        counts[invitee["type"]] = counts.get(invitee["type"], 0) + 1
    return campaign, {t: counts[t] for t in InviteeType if t in counts}


async def _resolve_invitees(
    levers: LeversClient,
    selection: InviteeSelection,
    *,
    region: str,
    level: OwnerLevel,
    perimeter: set[str],
) -> list[dict[str, Any]]:
    """The invitees the selection names, from the levers service's territories of that day."""
    rows: list[dict[str, Any]] = []
    if selection.region and level is OwnerLevel.region:
        found = await levers.get_region(region)
        rows.append(
            {"code": found.code, "name": found.name, "type": InviteeType.region, "departement": None,
             "population": found.population}
        )  # fmt: skip
    if selection.departements:
        for departement in await levers.list_departements(region=region):
            if departement.code in perimeter:
                rows.append(
                    {"code": departement.code, "name": departement.name, "type": InviteeType.departement,
                     "departement": departement.code, "population": departement.population}
                )  # fmt: skip
    natures = set(selection.epci_natures)
    if natures:
        for epci in await levers.list_epcis(region=region):
            if epci.nature in natures and epci.departement in perimeter:
                rows.append(
                    {"code": epci.siren, "name": epci.name, "type": EPCI_TYPES[InviteeNature(epci.nature)],
                     "departement": epci.departement, "population": epci.population}
                )  # fmt: skip
    if selection.communes:
        for commune in await levers.list_communes(region=region):
            if commune.departement in perimeter:
                rows.append(
                    {"code": commune.code, "name": commune.name, "type": InviteeType.commune,
                     "departement": commune.departement, "population": commune.population}
                )  # fmt: skip
    return rows


async def get_campaign(
    session: AsyncSession, campaign_id: uuid.UUID, *, regions: frozenset[str] | None
) -> tuple[Campaign, dict[InviteeType, int]]:
    """The campaign, if the caller may see its région (404 otherwise), and its invitee counts."""
    repository = CampaignRepository(session)
    campaign = await repository.get(campaign_id)
    if campaign is None or (regions is not None and campaign.owner_region not in regions):
        raise NotFound(f"No campaign {campaign_id}")
    return campaign, (await repository.invitee_counts([campaign.id]))[campaign.id]


async def campaign_to_change(
    session: AsyncSession, campaign_id: uuid.UUID, *, principal: Principal, regions: frozenset[str] | None
) -> tuple[Campaign, dict[InviteeType, int]]:
    """The campaign (404 outside the caller's régions), if the caller manages its owner (403)."""
    campaign, counts = await get_campaign(session, campaign_id, regions=regions)
    ensure_may_act_on(principal, owner_territory(campaign))
    return campaign, counts


async def update_campaign(
    session: AsyncSession, campaign: Campaign, data: CampaignUpdate, *, principal: Principal, today: dt.date
) -> Campaign:
    """New title or dates (audited, a new revision): the opening date only before the campaign opens
    (409 after); a new closing date from yesterday on (yesterday: closed from today on, which also
    cancels a campaign not yet open) and otherwise not before the opening date (422 naming each). A
    date sent unchanged is no change: a client may send the whole representation back. When a date
    changes, the campaign's invitations and reminders still queued are withdrawn (their text gives the
    old dates): the coordinator sends them again."""
    wanted = {name: getattr(data, name) for name in data.model_fields_set if getattr(data, name) is not None}
    opening = wanted.get("opening_date", campaign.opening_date)
    closing = wanted.get("closing_date", campaign.closing_date)
    yesterday = today - dt.timedelta(days=1)
    opening_moves = opening != campaign.opening_date
    closing_moves = closing != campaign.closing_date
    if opening_moves:
        if today >= campaign.opening_date:
            raise Conflict(
                f"The campaign opened on {campaign.opening_date.isoformat()}: its opening date stays"
            )
        if opening < today:
            _refuse_update("opening_date", f"{opening.isoformat()} is in the past", "in_the_past")
    if closing_moves and closing < yesterday:
        _refuse_update(
            "closing_date",
            f"{closing.isoformat()} is before yesterday: to close the campaign now, give yesterday's date",
            "in_the_past",
        )
    if closing_moves and closing == yesterday and campaign.closing_date < yesterday:
        _refuse_update(
            "closing_date",
            f"The campaign closed on {campaign.closing_date.isoformat()}: give a date from today on to "
            "open it again",
            "already_closed",
        )
    closed_now = closing_moves and closing == yesterday  # closing, or cancelling one not yet open
    if closing < opening and not closed_now and (opening_moves or closing_moves):
        _refuse_update(
            "closing_date" if closing_moves else "opening_date",
            f"The closing date {closing.isoformat()} is before the opening date {opening.isoformat()}",
            "dates_out_of_order",
        )
    changed = audit.apply_update(
        session,
        AuditEntry,
        campaign,
        wanted,
        principal=principal,
        entity_type=ENTITY,
        entity_id=str(campaign.id),
    )
    if {"opening_date", "closing_date"} & set(changed):
        await outbox.withdraw(session, campaign.id)  # written with the old dates
    await session.flush()
    return campaign


def _refuse_update(field: str, msg: str, type_: str) -> None:
    raise UnprocessableEntity(
        "The campaign cannot be changed as asked; see `errors`.",
        errors=[FieldError(loc=["body", field], msg=msg, type=type_)],
    )


async def list_campaigns(
    session: AsyncSession, filters: CampaignFilters, *, regions: frozenset[str] | None, params: PageParams
) -> Page[CampaignRead]:
    repository = CampaignRepository(session)
    rows, total = await paginate(session, repository.list_statement(filters, regions=regions), params)
    counts = await repository.invitee_counts([c.id for c in rows])
    return Page.of([CampaignRead.of(c, counts[c.id]) for c in rows], total, params)


async def list_invitees(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    filters: InviteeFilters,
    *,
    regions: frozenset[str] | None,
    params: PageParams,
) -> Page[InviteeRead]:
    campaign, _counts = await get_campaign(session, campaign_id, regions=regions)
    statement = CampaignRepository(session).invitees_statement(campaign.id, filters)
    return await paginate_into(session, statement, params, InviteeRead.model_validate)
