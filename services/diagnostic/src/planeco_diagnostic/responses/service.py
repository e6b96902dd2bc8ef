"""Responses: one per invitee of a campaign, saved as drafts (partial, If-Match) and submitted, by the
invitation token's holder or an authenticated contributor of the collectivité (or an admin), read by
the coordinators of the campaign's owner, reopened by them. Every answer is validated against the
campaign's questionnaire; a rejected request saves nothing and lists every problem (`loc`:
`["body", "answers", <item key>, …]`). Quantities are exact decimals: `lever_quantity` = `quantity` ×
the item's `lever_unit_factor`, computed with `Decimal` (no rounding: the product of two decimals is
exact) and written in plain notation."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from typing import Any

from fastapi import Request
from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.campaigns.models import Campaign, Invitee, InviteeType
from planeco_diagnostic.campaigns.repository import CampaignRepository
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations import service as invitations
from planeco_diagnostic.invitations.repository import InvitationRepository
from planeco_diagnostic.questionnaires.document import (
    ActionItem,
    MultipleChoiceItem,
    NumberItem,
    QuestionnaireDocument,
    SingleChoiceItem,
    TextItem,
)
from planeco_diagnostic.questionnaires.service import campaign_document
from planeco_diagnostic.responses.models import Response, ResponseStatus
from planeco_diagnostic.responses.repository import ResponseRepository
from planeco_diagnostic.responses.schemas import (
    ActionAnswer,
    AnswersUpdate,
    CampaignStats,
    DecimalString,
    DepartementStats,
    Need,
    OptionKey,
    ResponseRead,
    ResponseStatusRead,
    StatsCounts,
    TypeStats,
)
from planeco_diagnostic.syntheses.repository import AnswerRowRepository, answer_rows
from planeco_shared import audit
from planeco_shared.concurrency import check_if_match, etag
from planeco_shared.history import HistoryEntry, history_page
from planeco_shared.identity import Principal, Role
from planeco_shared.models import utcnow
from planeco_shared.pagination import Page, PageParams
from planeco_shared.problems import Conflict, FieldError, Forbidden, NotFound, UnprocessableEntity
from planeco_shared.scopes import Level, Territory, ensure_may_act_on, may_act_on
from planeco_shared.text import FreeText

ENTITY = "response"
EXACT_DIGITS = 64
RESPONDENT_TYPE = {
    InviteeType.region: "region",
    InviteeType.departement: "departement",
    InviteeType.metropole: "epci",
    InviteeType.cu: "epci",
    InviteeType.ca: "epci",
    InviteeType.cc: "epci",
    InviteeType.commune: "commune",
}
LEVEL = {
    "region": Level.region,
    "departement": Level.departement,
    "epci": Level.epci,
    "commune": Level.commune,
}
_TEXT: TypeAdapter[str] = TypeAdapter(FreeText)
_DECIMAL: TypeAdapter[str] = TypeAdapter(DecimalString)
_OPTION: TypeAdapter[str] = TypeAdapter(OptionKey)
_OPTIONS: TypeAdapter[list[str]] = TypeAdapter(list[OptionKey])


def invitee_territory(campaign: Campaign, invitee: Invitee) -> Territory:
    level = LEVEL[RESPONDENT_TYPE[invitee.type]]
    departements = frozenset({invitee.departement}) if invitee.departement else frozenset()
    return Territory(
        level,
        invitee.code,
        regions=frozenset({campaign.owner_region}),
        departements=departements,
        epcis=frozenset({invitee.code}) if level is Level.epci else frozenset(),
    )


def response_etag(invitee: Invitee, response: Response | None) -> str:
    return etag(invitee.id, response.version if response is not None else 0)


def tagged(campaign: Campaign, invitee: Invitee, response: Response | None) -> tuple[ResponseRead, str]:
    return read_of(campaign, invitee, response), response_etag(invitee, response)


def read_of(campaign: Campaign, invitee: Invitee, response: Response | None) -> ResponseRead:
    return ResponseRead(
        campaign_id=campaign.id,
        code=invitee.code,
        name=invitee.name,
        type=invitee.type,
        status=ResponseStatusRead.not_started if response is None else ResponseStatusRead(response.status),
        answers={} if response is None else response.answers,
        created_at=None if response is None else response.created_at,
        updated_at=None if response is None else response.updated_at,
        submitted_at=None if response is None else response.submitted_at,
        revision=0 if response is None else response.version,
    )


def _plain(value: Decimal) -> str:
    """Plain notation, no trailing zeros, every digit kept (normalize rounds to the context precision)."""
    with localcontext(prec=EXACT_DIGITS):
        text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _same_text(text: str) -> str:
    """A unit as compared: NFC (an accent typed as one character or two) and without outer spaces."""
    return unicodedata.normalize("NFC", text).strip()


def validate_answers(
    document: QuestionnaireDocument, invitee: Invitee, answers: dict[str, Any]
) -> dict[str, Any]:
    """Each answer validated against its item (None: clear it); a 422 listing every problem otherwise."""
    respondent = RESPONDENT_TYPE[invitee.type]
    items = {item.key: item for section in document.sections for item in section.items}
    levers = {item.key: section.lever_ids for section in document.sections for item in section.items}
    errors: list[FieldError] = []
    clean: dict[str, Any] = {}

    def fail(loc: list[str | int], msg: str, type_: str) -> None:
        errors.append(FieldError(loc=["body", "answers", *loc], msg=msg, type=type_))

    def pydantic(key: str, error: ValidationError) -> None:
        for e in error.errors(include_url=False, include_context=False, include_input=False):
            fail([key, *[p if isinstance(p, int) else str(p) for p in e["loc"]]], e["msg"], e["type"])

    for key, value in answers.items():
        item = items.get(key)
        if item is None:
            fail([key], f"The questionnaire has no item {key!r}", "unknown_item")
            continue
        types = item.respondent_types if item.respondent_types is not None else document.respondent_types
        if respondent not in {t.value for t in types}:
            fail(
                [key], f"The item {key!r} is not for respondents of type {respondent!r}", "not_for_respondent"
            )
            continue
        if value is None:
            clean[key] = None
            continue
        try:
            if isinstance(item, ActionItem):
                answer = ActionAnswer.model_validate(value)
                stored: dict[str, Any] = answer.model_dump(mode="json", exclude={"quantity", "unit"})
                stored["needs"] = [n.value for n in Need if n in answer.needs]
                if answer.unit is not None and item.quantity is None:
                    fail([key, "unit"], f"The item {key!r} asks for no quantity", "no_quantity")
                    continue
                if (
                    answer.unit is not None
                    and item.quantity is not None
                    and _same_text(answer.unit) != _same_text(item.quantity.unit)
                ):
                    fail(
                        [key, "unit"],
                        f"The quantity of item {key!r} is in {item.quantity.unit!r}, not {answer.unit!r}",
                        "wrong_unit",
                    )
                    continue
                if answer.quantity is not None:
                    if item.quantity is None:
                        fail([key, "quantity"], f"The item {key!r} asks for no quantity", "no_quantity")
                        continue
                    quantity = Decimal(answer.quantity)
                    if quantity < 0:
                        fail([key, "quantity"], "The quantity must be ≥ 0", "greater_than_equal")
                        continue
                    maximum = item.quantity.maximum
                    if maximum is not None and quantity > Decimal(maximum):
                        fail(
                            [key, "quantity"],
                            f"The quantity must be ≤ {maximum} {item.quantity.unit}",
                            "less_than_equal",
                        )
                        continue
                    stored["quantity"] = _plain(quantity)
                    stored["unit"] = item.quantity.unit
                    with localcontext(prec=EXACT_DIGITS):  # 30 × 30 digits at most: the product is exact
                        lever_quantity = quantity * Decimal(item.quantity.lever_unit_factor)
                    stored["lever_quantity"] = _plain(lever_quantity)
                    stored["lever_id"] = (item.lever_ids or levers[key])[0]
                clean[key] = stored
            elif isinstance(item, TextItem):
                text = _TEXT.validate_python(value)
                if len(text) > item.max_length:
                    fail([key], f"At most {item.max_length} characters (got {len(text)})", "string_too_long")
                    continue
                clean[key] = text
            elif isinstance(item, NumberItem):
                number = Decimal(_DECIMAL.validate_python(value))
                if item.minimum is not None and number < Decimal(item.minimum):
                    fail([key], f"The value must be ≥ {item.minimum}", "greater_than_equal")
                    continue
                if item.maximum is not None and number > Decimal(item.maximum):
                    fail([key], f"The value must be ≤ {item.maximum}", "less_than_equal")
                    continue
                clean[key] = _plain(number)
            elif isinstance(item, SingleChoiceItem | MultipleChoiceItem):
                options = [o.key for o in item.options]
                chosen = (
                    [_OPTION.validate_python(value)]
                    if isinstance(item, SingleChoiceItem)
                    else _OPTIONS.validate_python(value)
                )
                unknown = [(n, c) for n, c in enumerate(chosen) if c not in options]
                for n, choice in unknown:
                    loc: list[str | int] = [key] if isinstance(item, SingleChoiceItem) else [key, n]
                    fail(loc, f"{choice!r} is not an option: " + ", ".join(options), "unknown_option")
                if unknown:
                    continue
                ordered = [o for o in options if o in chosen]
                clean[key] = ordered[0] if isinstance(item, SingleChoiceItem) else ordered
        except ValidationError as error:
            pydantic(key, error)
    if errors:
        raise UnprocessableEntity("The answers are invalid; nothing was saved. See `errors`.", errors=errors)
    return clean


async def _save(  # every write of answers goes through here (their rows follow)
    session: AsyncSession,
    request: Request | None,
    campaign: Campaign,
    invitee: Invitee,
    data: AnswersUpdate,
    *,
    principal: Principal,
) -> tuple[ResponseRead, str]:
    """The one way answers are written. `request`: its If-Match is checked; None for the bulk import
    (planeco_diagnostic.response_imports), which has no ETag to send."""
    repository = ResponseRepository(session)
    response = await repository.get(invitee.id)
    if request is not None:
        check_if_match(request, response_etag(invitee, response))
    if response is not None and response.status is ResponseStatus.submitted:
        raise Conflict("The response is submitted: read only until a coordinator reopens it")
    document = await campaign_document(session, campaign.questionnaire_id)
    clean = validate_answers(document, invitee, data.answers)
    before = dict(response.answers) if response is not None else {}
    after = dict(before)
    for key, value in clean.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    changes = {
        key: {"old": before.get(key), "new": after.get(key)}
        for key in clean
        if before.get(key) != after.get(key)
    }
    if response is None:
        response = await repository.add(
            Response(
                invitee_id=invitee.id,
                campaign_id=campaign.id,
                status=ResponseStatus.draft,
                answers=after,
                updated_by=principal.subject,
            )
        )
        action = "create"
    elif changes:
        response.answers = after
        response.updated_by = principal.subject
        await session.flush()
        action = "update"
    else:
        return tagged(campaign, invitee, response)
    # The answers in rows (the synthesis's), in step in this same transaction.
    await AnswerRowRepository(session).replace(response, answer_rows(document, invitee, response))
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action=action,
        entity_type=ENTITY,
        entity_id=str(invitee.id),
        changes=changes,
    )
    return tagged(campaign, invitee, response)


async def _submit(
    session: AsyncSession, campaign: Campaign, invitee: Invitee, *, principal: Principal
) -> tuple[ResponseRead, str]:
    repository = ResponseRepository(session)
    response = await repository.get(invitee.id)
    if response is None:
        raise Conflict("Nothing to submit: save at least one answer first")
    if response.status is ResponseStatus.submitted:  # idempotent
        return tagged(campaign, invitee, response)
    response.status = ResponseStatus.submitted
    response.submitted_at = utcnow()
    response.updated_by = principal.subject
    await session.flush()
    await AnswerRowRepository(session).mark_submitted(invitee.id, True)
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="submit",
        entity_type=ENTITY,
        entity_id=str(invitee.id),
        changes={"status": {"old": "draft", "new": "submitted"}},
    )
    return tagged(campaign, invitee, response)


# By token ------------------------------------------------------------------------------------------


async def read_by_token(session: AsyncSession, found: invitations.Invitation) -> tuple[ResponseRead, str]:
    response = await ResponseRepository(session).get(found.invitee.id)
    return tagged(found.campaign, found.invitee, response)


async def save_by_token(
    session: AsyncSession, request: Request, found: invitations.Invitation, data: AnswersUpdate
) -> tuple[ResponseRead, str]:
    return await _save(session, request, found.campaign, found.invitee, data, principal=found.principal)


async def submit_by_token(session: AsyncSession, found: invitations.Invitation) -> tuple[ResponseRead, str]:
    return await _submit(session, found.campaign, found.invitee, principal=found.principal)


# Authenticated -------------------------------------------------------------------------------------


async def _located(
    session: AsyncSession, campaign_id: uuid.UUID, code: str, *, regions: frozenset[str] | None
) -> tuple[Campaign, Invitee]:
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None or (regions is not None and campaign.owner_region not in regions):
        raise NotFound(f"No campaign {campaign_id}")
    invitee = await InvitationRepository(session).invitee(campaign.id, code)
    if invitee is None:
        raise NotFound(f"No invitee {code} in campaign {campaign_id}")
    return campaign, invitee


def _may_read(principal: Principal, campaign: Campaign, invitee: Invitee) -> bool:
    if principal.role is Role.coordinator:
        return may_act_on(principal, invitations.owner_territory(campaign))
    return principal.role in (Role.admin, Role.contributor) and may_act_on(
        principal, invitee_territory(campaign, invitee)
    )


async def read_response(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
) -> tuple[ResponseRead, str]:
    campaign, invitee = await _located(session, campaign_id, code, regions=regions)
    if not _may_read(principal, campaign, invitee):
        raise Forbidden(f"Your role and territory do not allow reading the response of {code}")
    response = await ResponseRepository(session).get(invitee.id)
    return tagged(campaign, invitee, response)


async def response_history(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    params: PageParams,
) -> Page[HistoryEntry]:
    """Who changed the response, when: one field per item key (and `status`), old → new."""
    campaign, invitee = await _located(session, campaign_id, code, regions=regions)
    if not _may_read(principal, campaign, invitee):
        raise Forbidden(f"Your role and territory do not allow reading the response of {code}")
    statement = ResponseRepository(session).history_statement(invitee.id)
    return await history_page(session, statement, params, field_order=["status"])


RATE = Decimal("0.0001")


def _rate(part: int, whole: int) -> str:
    return (
        str((Decimal(part) / Decimal(whole)).quantize(RATE, rounding=ROUND_HALF_EVEN)) if whole else "0.0000"
    )


def _counts(invited: int, started: int, submitted: int) -> dict[str, Any]:
    return {
        "invited": invited,
        "started": started,
        "submitted": submitted,
        "started_rate": _rate(started, invited),
        "submitted_rate": _rate(submitted, invited),
    }


async def campaign_stats(
    session: AsyncSession, campaign_id: uuid.UUID, *, principal: Principal, regions: frozenset[str] | None
) -> CampaignStats:
    """Invited, started and submitted, overall, per type and per département, counted now."""
    campaign = await CampaignRepository(session).get(campaign_id)
    if campaign is None or (regions is not None and campaign.owner_region not in regions):
        raise NotFound(f"No campaign {campaign_id}")
    if principal.role not in (Role.admin, Role.coordinator):
        raise Forbidden("The response rates are for the campaign's coordinators")
    ensure_may_act_on(principal, invitations.owner_territory(campaign))
    by_type: dict[InviteeType, list[int]] = {}
    by_departement: dict[str | None, list[int]] = {}
    total = [0, 0, 0]
    for type_, departement, *counts in await ResponseRepository(session).stats_rows(campaign.id):
        for bucket in (
            by_type.setdefault(InviteeType(type_), [0, 0, 0]),
            by_departement.setdefault(departement, [0, 0, 0]),
            total,
        ):
            for n, count in enumerate(counts):
                bucket[n] += count
    return CampaignStats(
        campaign_id=campaign.id,
        overall=StatsCounts(**_counts(*total)),
        by_type=[TypeStats(type=t, **_counts(*by_type[t])) for t in InviteeType if t in by_type],
        by_departement=[
            DepartementStats(departement=d, **_counts(*by_departement[d]))
            for d in sorted(by_departement, key=lambda d: (d is None, d or ""))
        ],
    )


async def _writable(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
) -> tuple[Campaign, Invitee]:
    campaign, invitee = await _located(session, campaign_id, code, regions=regions)
    if principal.role not in (Role.admin, Role.contributor):
        raise Forbidden("A response is written by its collectivité (a contributor or its invitation token)")
    ensure_may_act_on(principal, invitee_territory(campaign, invitee))
    if not invitations.is_open(campaign, today):
        raise Conflict(
            f"The campaign is open from {campaign.opening_date.isoformat()} to "
            f"{campaign.closing_date.isoformat()}: responses are read only outside these dates"
        )
    return campaign, invitee


async def save_response(
    session: AsyncSession,
    request: Request,
    campaign_id: uuid.UUID,
    code: str,
    data: AnswersUpdate,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
) -> tuple[ResponseRead, str]:
    campaign, invitee = await _writable(
        session, campaign_id, code, principal=principal, regions=regions, today=today
    )
    return await _save(session, request, campaign, invitee, data, principal=principal)


async def submit_response(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
) -> tuple[ResponseRead, str]:
    campaign, invitee = await _writable(
        session, campaign_id, code, principal=principal, regions=regions, today=today
    )
    return await _submit(session, campaign, invitee, principal=principal)


async def reopen_response(
    session: AsyncSession,
    campaign_id: uuid.UUID,
    code: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    today: dt.date,
) -> tuple[ResponseRead, str]:
    """Back to draft, out of the synthesis until submitted again: only until the closing date, since a
    response reopened later could never be submitted again (no write once the campaign is closed)."""
    campaign, invitee = await _located(session, campaign_id, code, regions=regions)
    if principal.role not in (Role.admin, Role.coordinator):
        raise Forbidden("Only the campaign's coordinators reopen a response")
    ensure_may_act_on(principal, invitations.owner_territory(campaign))
    if today > campaign.closing_date:
        raise Conflict(
            f"The campaign closed on {campaign.closing_date.isoformat()}: its responses are read only and "
            "a submitted response can no longer be reopened (it could not be submitted again)"
        )
    response = await ResponseRepository(session).get(invitee.id)
    if response is None or response.status is not ResponseStatus.submitted:
        raise Conflict("Only a submitted response can be reopened")
    response.status = ResponseStatus.draft
    response.submitted_at = None
    response.updated_by = principal.subject
    await session.flush()
    await AnswerRowRepository(session).mark_submitted(invitee.id, False)
    audit.record(
        session,
        AuditEntry,
        principal=principal,
        action="reopen",
        entity_type=ENTITY,
        entity_id=str(invitee.id),
        changes={"status": {"old": "submitted", "new": "draft"}},
    )
    return tagged(campaign, invitee, response)
