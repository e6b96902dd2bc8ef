"""Invitation tokens: one per invitee of a campaign, issued (or rotated) and revoked by the coordinators of
the campaign's owner. A token is 256 random bits (`secrets.token_urlsafe(32)`); only its SHA-256 is stored,
so it is shown once, when issued. It answers for its own invitee only, while the campaign is open (its
dates, Europe/Paris): an unknown, revoked or rotated-away token and a closed campaign are the same 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, Invitee
from planeco_diagnostic.campaigns.repository import CampaignRepository
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations.models import InvitationToken
from planeco_diagnostic.invitations.repository import InvitationRepository
from planeco_diagnostic.invitations.schemas import TokenIssued
from planeco_shared import audit
from planeco_shared.identity import Principal, Role
from planeco_shared.models import utcnow
from planeco_shared.owners import OwnerLevel
from planeco_shared.problems import Conflict, Forbidden, NotFound
from planeco_shared.scopes import Territory, ensure_may_act_on
from planeco_shared.tabular import FORMULA_TRIGGERS

ENTITY = "invitation"
UNKNOWN_TOKEN = "No open invitation for this token"  # noqa: S105 (a message)


def new_token() -> str:
    """256 random bits, URL-safe base64; never starting with `-`, which a spreadsheet would take for a
    formula (our CSV files write such a cell with a leading `'`, and the mail-merge file's token would then be
    wrong): drawn again in that case (1 in 64), which costs less than a hundredth of a bit."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith(FORMULA_TRIGGERS):
            return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def owner_territory(campaign: Campaign) -> Territory:
    if campaign.owner_level is OwnerLevel.region:
        return Territory.region(campaign.owner_code)
    return Territory.departement(campaign.owner_code, region=campaign.owner_region)


def is_open(campaign: Campaign, today: dt.date) -> bool:
    return campaign.opening_date <= today <= campaign.closing_date


@dataclass(frozen=True, slots=True)
class Invitation:
    """A valid token's invitee and campaign, and the principal its writes are audited as."""

    invitee: Invitee
    campaign: Campaign

    @property
    def principal(self) -> Principal:
        return Principal(subject=f"invitation:{self.invitee.id}", role=Role.anonymous)


async def managed_campaign(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> Campaign:
    """The campaign (404 outside the caller's régions), the caller allowed to manage it (403: a coordinator
    of its owner, or an admin)."""
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None or (regions is not None and campaign.owner_region not in regions):
        raise NotFound(f"No campaign {campaign_id}")
    if principal.role not in (Role.admin, Role.coordinator):
        raise Forbidden("Only the campaign's coordinators (and admins) manage its invitations")
    ensure_may_act_on(principal, owner_territory(campaign))
    return campaign


async def managed_invitee(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> tuple[Campaign, Invitee]:
    """The campaign (404 outside the caller's régions), the caller allowed to manage it (403), the invitee."""
    campaign = await managed_campaign(session, campaign_id, principal=principal, regions=regions)
    invitee = await InvitationRepository(session).invitee(campaign.id, code)
    if invitee is None:
        raise NotFound(f"No invitee {code} in campaign {campaign_id}")
    return campaign, invitee


async def issue_token(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
) -> TokenIssued:
    """A new token for the invitee; the previous one, if any, stops working (rotation)."""
    campaign, invitee = await managed_invitee(
        session, campaign_id, code, principal=principal, regions=regions
    )
    if today > campaign.closing_date:
        raise Conflict(f"The campaign closed on {campaign.closing_date.isoformat()}: no token to issue")
    token, now = await issue_for(session, campaign, invitee, principal=principal)
    return TokenIssued(
        campaign_id=campaign.id, code=invitee.code, name=invitee.name, token=token, issued_at=now
    )


async def issue_for(
    session: AsyncSession,
    campaign: Campaign,
    invitee: Invitee,
    *,
    principal: Principal,
    known: Mapping[uuid.UUID, InvitationToken] | None = None,
    flush: bool = True,
) -> tuple[str, dt.datetime]:
    """A new token for the invitee (audited `issue`, or `rotate` when it replaces a valid one): the token
    and when it was issued. The caller has checked the campaign is managed by `principal` and not closed.
    Many at once (a mailing): `known`, the campaign's token rows by invitee (none read one by one), and
    `flush=False` (the rows go at the transaction's end, in batches)."""
    token = new_token()
    repository = InvitationRepository(session)
    existing = known.get(invitee.id) if known is not None else await repository.token_of(invitee.id)
    now = utcnow()
    action = "issue" if existing is None or existing.token_hash is None else "rotate"
    if existing is None:
        await repository.add(
            InvitationToken(
                invitee_id=invitee.id,
                campaign_id=campaign.id,
                token_hash=hash_token(token),
                issued_at=now,
                issued_by=principal.subject,
            ),
            flush=flush,
        )
    else:
        existing.token_hash = hash_token(token)
        existing.issued_at = now
        existing.issued_by = principal.subject
        existing.revoked_at = None
        if flush:
            await session.flush()
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action=action,
        entity_type=ENTITY,
        entity_id=str(invitee.id),
        changes={"campaign_id": str(campaign.id), "code": invitee.code},
    )
    return token, now


async def revoke_token(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> None:
    campaign, invitee = await managed_invitee(
        session, campaign_id, code, principal=principal, regions=regions
    )
    existing = await InvitationRepository(session).token_of(invitee.id)
    if existing is None or existing.token_hash is None:
        raise NotFound(f"The invitee {code} has no valid token")
    existing.token_hash = None
    existing.revoked_at = utcnow()
    await session.flush()
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="revoke",
        entity_type=ENTITY,
        entity_id=str(invitee.id),
        changes={"campaign_id": str(campaign.id), "code": invitee.code},
    )


async def invitation_of(session: AsyncSession, token: str | None, *, today: dt.date) -> Invitation:
    """The invitation a token opens; the same 404 for a missing, unknown, revoked or closed one."""
    if not token or len(token) > 200:
        raise NotFound(UNKNOWN_TOKEN)
    found = await InvitationRepository(session).by_hash(hash_token(token))
    if found is None or not is_open(found[2], today):
        raise NotFound(UNKNOWN_TOKEN)
    return Invitation(invitee=found[1], campaign=found[2])
