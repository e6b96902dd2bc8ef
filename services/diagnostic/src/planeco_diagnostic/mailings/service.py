"""E-mailed invitations and reminders, invitation tokens for a mail-merge, and the non-respondents.

- **Who writes**: the coordinators of the campaign's owner and admins (a coordinator of another région: 404;
  of the wrong territory, a contributor, a reader: 403). Not once the campaign has closed (409).
- **Tokens**: only a token's hash is kept, so a mail can carry a token only when it is issued: each
  invitation or reminder issues the invitee a **new token** (audited `issue` or `rotate`), and the link of a
  previous mail stops working. The draft is the invitee's, not the token's: the new link opens it.
- **The link**: `answer_url` (settings: the front end's answer page) then `#jeton=<token>`. The token is
  in the fragment, which browsers never send to a server, so it is in no access log; the front end reads it
  and sends it as the `X-Invitation-Token` header.
- **Recipients**: one e-mail per invitee, to its primary contact (the first by e-mail when none is marked
  primary); with `all_contacts`, one to each of its contacts. An invitee with no contact is listed in
  `without_contact` and its token is left as it was.
- **Reminders** (`relance`) go to the **non-respondents** only: the invitees with no submitted response
  (not started, or a draft). Those who submitted are never written to.
- Reply-To: the sending coordinator's e-mail (from its identity), or else the primary contact of the
  campaign's owner (the région or the département). The mail names the owner, the campaign, its dates.
- Each mailing is one audit entry on the campaign (`send_invitations` / `send_reminders`, with its counts).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, Invitee, InviteeType
from planeco_diagnostic.contacts.models import Contact, ContactLevel
from planeco_diagnostic.contacts.repository import ContactRepository
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations import service as invitations
from planeco_diagnostic.mailings.repository import MailingRepository
from planeco_diagnostic.mailings.schemas import (
    InviteeChoice,
    MailingCreate,
    MailingKind,
    MailingResult,
    NonRespondentFilters,
    NonRespondentRead,
    NonRespondentStatus,
)
from planeco_diagnostic.outbox.service import LINK_FRAGMENT_KEY, enqueue
from planeco_diagnostic.responses.models import ResponseStatus
from planeco_diagnostic.responses.service import invitee_territory
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared import audit
from planeco_shared.clients.levers import LeversClient
from planeco_shared.identity import Principal
from planeco_shared.owners import OwnerLevel
from planeco_shared.pagination import Page, PageParams, paginate
from planeco_shared.problems import Conflict, FieldError, UnprocessableEntity
from planeco_shared.tabular import Column, Metadata, Table

MAX_EXPORT_ROWS = 50_000
CONTACT_LEVEL = {
    InviteeType.region: ContactLevel.region,
    InviteeType.departement: ContactLevel.departement,
    InviteeType.metropole: ContactLevel.epci,
    InviteeType.cu: ContactLevel.epci,
    InviteeType.ca: ContactLevel.epci,
    InviteeType.cc: ContactLevel.epci,
    InviteeType.commune: ContactLevel.commune,
}
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip
SUBJECTS = {
    MailingKind.invitation: "Diagnostic de la COP régionale « {title} » : à vous de répondre",
    MailingKind.relance: "Relance : diagnostic de la COP régionale « {title} », clôture le {closes_on}",
}
AUDIT_ACTIONS = {MailingKind.invitation: "send_invitations", MailingKind.relance: "send_reminders"}


def french_date(day: dt.date) -> str:
    """`5 janvier 2027`, `1er mars 2027`."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def answer_link(settings: DiagnosticSettings, token: str) -> str:
    """The front end's answer page, the token in the fragment (never sent to a server, never logged)."""
    return f"{settings.answer_url}#{LINK_FRAGMENT_KEY}={token}"


def choose(invitees: Sequence[Invitee], choice: InviteeChoice | None) -> list[Invitee]:
    """The invitees the choice names (422 naming each unknown code)."""
    if choice is None:
        return list(invitees)
    if choice.codes is not None:
        known = {invitee.code for invitee in invitees}
        errors = [
            FieldError(loc=["body", "codes", n], msg=f"No invitee {code} in this campaign", type="not_found")
            for n, code in enumerate(choice.codes)
            if code not in known
        ]
        if errors:
            raise UnprocessableEntity("The choice names unknown invitees; nothing was done.", errors=errors)
    codes = set(choice.codes) if choice.codes is not None else None
    types = set(choice.types) if choice.types is not None else None
    departements = set(choice.departements) if choice.departements is not None else None
    return [
        invitee
        for invitee in invitees
        if (codes is None or invitee.code in codes)
        and (types is None or invitee.type in types)
        and (departements is None or invitee.departement in departements)
    ]


async def contacts_of(session: AsyncSession, invitees: Sequence[Invitee]) -> dict[str, list[Contact]]:
    """Invitee code → its contacts, the primary one first, then by e-mail."""
    keys = {(CONTACT_LEVEL[invitee.type].value, invitee.code) for invitee in invitees}
    by_key: dict[tuple[str, str], list[Contact]] = defaultdict(list)
    for contact in await ContactRepository(session).of_collectivites(keys):
        by_key[(contact.level.value, contact.code)].append(contact)
    found: dict[str, list[Contact]] = {}
    for invitee in invitees:
        contacts = by_key.get((CONTACT_LEVEL[invitee.type].value, invitee.code), [])
        if contacts:
            found[invitee.code] = sorted(contacts, key=lambda c: (not c.is_primary, c.email))
    return found


async def _owner(
    session: AsyncSession, campaign: Campaign, levers: LeversClient
) -> tuple[str, Contact | None]:
    """The owner's name (from the levers service) and its primary contact, if any."""
    if campaign.owner_level is OwnerLevel.region:
        name = (await levers.get_region(campaign.owner_code)).name
        level = ContactLevel.region
    else:
        name = (await levers.get_departement(campaign.owner_code)).name
        level = ContactLevel.departement
    contacts = await ContactRepository(session).of_collectivites({(level.value, campaign.owner_code)})
    primary = sorted(contacts, key=lambda c: (not c.is_primary, c.email))
    return name, primary[0] if primary else None


async def send_mailing(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    data: MailingCreate | None,
    *,
    kind: MailingKind,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
    levers: LeversClient,
    settings: DiagnosticSettings,
) -> MailingResult:
    """Invitations or reminders (see the module's docstring), queued in this transaction."""
    campaign = await invitations.managed_campaign(session, campaign_id, principal=principal, regions=regions)
    if today > campaign.closing_date:
        raise Conflict(f"The campaign closed on {campaign.closing_date.isoformat()}: no more e-mails")
    data = data or MailingCreate()
    repository = MailingRepository(session)
    selected = choose(await repository.invitees(campaign.id), data)
    already_submitted = 0
    if kind is MailingKind.relance:
        submitted = await repository.submitted(campaign.id)
        already_submitted = sum(1 for invitee in selected if invitee.id in submitted)
        selected = [invitee for invitee in selected if invitee.id not in submitted]
    contacts = await contacts_of(session, selected)
    known = await repository.tokens(campaign.id)
    owner_name, owner_contact = await _owner(session, campaign, levers)
    reply_to = principal.email or (owner_contact.email if owner_contact is not None else None)
    if principal.email:
        coordinator_name = principal.name
    else:
        coordinator_name = owner_contact.name or None if owner_contact is not None else None
    opens_on, closes_on = french_date(campaign.opening_date), french_date(campaign.closing_date)
    subject = SUBJECTS[kind].format(title=campaign.title, closes_on=closes_on)
    without_contact: list[str] = []
    reached = messages = 0
    for invitee in selected:
        recipients = contacts.get(invitee.code, [])
        if not recipients:
            without_contact.append(invitee.code)
            continue
        token, _issued_at = await invitations.issue_for(
            session, campaign, invitee, principal=principal, known=known, flush=False
        )
        reached += 1
        for contact in recipients if data.all_contacts else recipients[:1]:
            await enqueue(
                session,
                to=contact.email,
                subject=subject,
                template=kind.value,
                context={
                    "recipient_name": contact.name or None,
                    "region_name": owner_name,
                    "campaign_title": campaign.title,
                    "collectivite_name": invitee.name,
                    "opens_on": opens_on,
                    "closes_on": closes_on,
                    "link": answer_link(settings, token),
                    "coordinator_name": coordinator_name,
                    "coordinator_email": reply_to,
                },
                reply_to=reply_to,
                territory=invitee_territory(campaign, invitee),
                created_by=principal.subject,
                campaign_id=campaign.id,
                flush=False,
            )
            messages += 1
    result = MailingResult(
        campaign_id=campaign.id,
        kind=kind,
        selected=len(selected) + already_submitted,
        already_submitted=already_submitted,
        reached=reached,
        messages=messages,
        without_contact=without_contact,
    )
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action=AUDIT_ACTIONS[kind],
        entity_type="campaign",
        entity_id=str(campaign.id),
        changes=result.model_dump(mode="json", exclude={"campaign_id", "kind"})
        | {"choice": data.model_dump(mode="json", exclude_none=True)},
    )
    return result


# Tokens for a mail-merge ---------------------------------------------------------------------------

TOKEN_COLUMNS = [
    Column("code", description="INSEE code; SIREN for an EPCI"),
    Column("name", description="The collectivité"),
    Column("type", description="region, departement, metropole, cu, ca, cc, commune"),
    Column("departement", description="The département it lies in (an EPCI: its seat's)"),
    Column("contact_email", description="Its primary contact's e-mail (empty: no contact)"),
    Column("contact_name", description="Its primary contact's name"),
    Column("token", description="The invitation token (X-Invitation-Token): shown once"),
    Column("link", description="The answer link, the token in its fragment"),
]


async def issue_tokens(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    data: InviteeChoice | None,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
    settings: DiagnosticSettings,
) -> tuple[Campaign, Table]:
    """A new token for each chosen invitee (every previous one stops working), as a table for a
    mail-merge: the tokens are in this answer only."""
    campaign = await invitations.managed_campaign(session, campaign_id, principal=principal, regions=regions)
    if today > campaign.closing_date:
        raise Conflict(f"The campaign closed on {campaign.closing_date.isoformat()}: no token to issue")
    repository = MailingRepository(session)
    selected = choose(await repository.invitees(campaign.id), data)
    contacts = await contacts_of(session, selected)
    known = await repository.tokens(campaign.id)
    records: list[dict[str, Any]] = []
    for invitee in selected:
        token, _issued_at = await invitations.issue_for(
            session, campaign, invitee, principal=principal, known=known, flush=False
        )
        found = contacts.get(invitee.code)
        contact = found[0] if found else None
        records.append(
            {
                "code": invitee.code,
                "name": invitee.name,
                "type": invitee.type.value,
                "departement": invitee.departement or "",
                "contact_email": contact.email if contact is not None else "",
                "contact_name": contact.name if contact is not None else "",
                "token": token,
                "link": answer_link(settings, token),
            }
        )
    metadata = Metadata(
        title=f"Jetons d'invitation : {campaign.title}",
        source="planeco diagnostic",
        version=str(campaign.id),
        licence="Confidentiel : chaque jeton permet de répondre pour sa collectivité",
        notes=("Chaque jeton remplace le précédent de la collectivité ; valable jusqu'à la clôture",),
    )
    return campaign, Table.from_records(metadata, TOKEN_COLUMNS, records)


# Non-respondents -----------------------------------------------------------------------------------


async def _non_respondents(session: AsyncSession, invitees: Sequence[Invitee]) -> list[NonRespondentRead]:
    statuses = await MailingRepository(session).statuses([invitee.id for invitee in invitees])
    contacts = await contacts_of(session, invitees)
    return [
        NonRespondentRead(
            code=invitee.code,
            name=invitee.name,
            type=invitee.type,
            departement=invitee.departement,
            status=NonRespondentStatus.draft
            if statuses.get(invitee.id) is ResponseStatus.draft
            else NonRespondentStatus.not_started,
            contact_email=contacts[invitee.code][0].email if invitee.code in contacts else None,
        )
        for invitee in invitees
    ]


async def list_non_respondents(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    filters: NonRespondentFilters,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    params: PageParams,
) -> Page[NonRespondentRead]:
    campaign = await invitations.managed_campaign(session, campaign_id, principal=principal, regions=regions)
    statement = MailingRepository(session).non_respondents_statement(campaign.id, filters)
    rows, total = await paginate(session, statement, params)
    return Page.of(await _non_respondents(session, rows), total, params)


async def all_non_respondents(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    filters: NonRespondentFilters,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> list[NonRespondentRead]:
    campaign = await invitations.managed_campaign(session, campaign_id, principal=principal, regions=regions)
    repository = MailingRepository(session)
    rows = await repository.all(
        repository.non_respondents_statement(campaign.id, filters), limit=MAX_EXPORT_ROWS
    )
    return await _non_respondents(session, rows)


NON_RESPONDENT_COLUMNS = [
    Column("code", description="INSEE code; SIREN for an EPCI"),
    Column("name", description="The collectivité"),
    Column("type", description="region, departement, metropole, cu, ca, cc, commune"),
    Column("departement", description="The département it lies in (an EPCI: its seat's)"),
    Column("status", description="not_started: nothing saved; draft: saved, not submitted"),
    Column("contact_email", description="Its primary contact's e-mail (empty: no contact)"),
]


def non_respondents_table(rows: Sequence[NonRespondentRead]) -> Table:
    metadata = Metadata(
        title="Collectivités sans réponse soumise",
        source="planeco diagnostic",
        version="non-respondents",
        licence="Données personnelles (RGPD) : pour le suivi du diagnostic de la COP uniquement",
        notes=("status: not_started (rien d'enregistré) ou draft (brouillon non soumis)",),
    )
    records = [
        {
            "code": row.code,
            "name": row.name,
            "type": row.type.value,
            "departement": row.departement or "",
            "status": row.status.value,
            "contact_email": row.contact_email or "",
        }
        for row in rows
    ]
    return Table.from_records(metadata, NON_RESPONDENT_COLUMNS, records)
