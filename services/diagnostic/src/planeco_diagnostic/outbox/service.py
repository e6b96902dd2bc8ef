"""The e-mail outbox (transactional outbox): a message is a row written in the same transaction as what
causes it (an invitation, a reminder), so that it is sent if and only if that transaction commits; the
`send-mail` job (planeco_diagnostic.outbox.jobs) drains it over SMTP.

Delivery, per message, each step in its own transaction:

1. claim it: `queued` → `sending` by a compare-and-set, the attempt counted (committed before anything goes
   out), so that of two runs only one ever hands a message to the server;
2. hand it to the SMTP server;
3. right after the server accepted it, mark it `sent` (or, when refused or unreachable, `queued` again with
   the error and the next attempt time, the wait doubling from `mail_retry_seconds`; `failed` after
   `mail_max_attempts`).

**A crash between 2 and 3** (the process killed after the server accepted the message but before `sent` was
committed) leaves the message `sending`. Runs are one at a time (the job's lock, across replicas), so the next
run knows no attempt is under way and marks every `sending` message `failed` with the reason "interrupted":
it is never resent on its own, because it may already have been delivered. Never twice, at the price of, in
that rare case, perhaps never: the outbox read shows it, and a coordinator sends the invitation or reminder
again (`POST /campaigns/{id}/invitations` for that invitee: a new message, with a new token). Each message
keeps one `Message-ID`, so a duplicate at the receiving end is recognisable as the same message.

At most `mail_daily_cap` messages are sent per rolling 24 hours; the others wait for the next runs.

**Secrets in links** (an invitation token in the link's fragment, `#jeton=…`) are kept in the stored copy only
until a delivery attempt marks the message `sent` or `failed`, then blanked there (`without_secrets`): only
tokens' hashes are kept for good, and the outbox read does not hand out working links (a message left
`sending` by a crash keeps its link: it may have been delivered).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib
from sqlalchemy import ColumnElement, false, true
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_diagnostic.outbox.models import MessageStatus, OutboxMessage
from planeco_diagnostic.outbox.rendering import render
from planeco_diagnostic.outbox.repository import OutboxRepository
from planeco_diagnostic.outbox.schemas import OutboxFilters, OutboxMessageRead
from planeco_diagnostic.outbox.smtp import build_message, connection
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.identity import Principal, Role
from planeco_shared.models import utcnow
from planeco_shared.pagination import Page, PageParams, paginate_into
from planeco_shared.runtime import ServiceRuntime
from planeco_shared.scopes import Level, Territory, scope_ref

INTERRUPTED = (
    "interrupted: the run stopped after handing the message to the SMTP server and before recording the "
    "answer; not resent, since it may have been delivered"
)
MAX_ERROR_LENGTH = 1000
MESSAGE_ID_DOMAIN = "diagnostic.planeco"


async def enqueue(
    session: AsyncSession,
    *,
    to: str,
    subject: str,
    template: str,
    context: Mapping[str, Any],
    reply_to: str | None = None,
    territory: Territory,
    created_by: str = "system",
    campaign_id: uuid.UUID | None = None,
    flush: bool = True,
) -> OutboxMessage:
    """Queue one e-mail in `session`'s transaction: it goes out (within a minute, by the `send-mail` job) only
    if that transaction commits. `template` names `templates/<template>.txt.j2` and `.html.j2`, rendered now
    with `context` (a missing variable or an unknown template: `TemplateError`, a ValueError); `reply_to`: the
    campaign's coordinator; `territory`: what the message is about (who reads it in the outbox);
    `campaign_id`: the campaign it is about, whose date changes withdraw it while queued (`withdraw`);
    `flush=False` for many messages at once (written at the transaction's end, in batches)."""
    text_body, html_body = render(template, context)
    regions = sorted(territory.regions)
    departements = sorted(territory.departements)
    message = OutboxMessage(
        message_id=email.utils.make_msgid(idstring=uuid.uuid4().hex[:12], domain=MESSAGE_ID_DOMAIN),
        to_address=to,
        reply_to=reply_to,
        subject=subject,
        template=template,
        text_body=text_body,
        html_body=html_body,
        territory_level=territory.level.value,
        territory_code=territory.code,
        region_code=regions[0] if regions else None,
        departement_code=departements[0] if len(departements) == 1 else None,
        status=MessageStatus.queued,
        attempts=0,
        next_attempt_at=utcnow(),
        created_by=created_by,
        campaign_id=campaign_id,
    )
    return await OutboxRepository(session).add(message, flush=flush)


WITHDRAWN = (
    "withdrawn: the campaign's dates changed before it was sent (send the invitations or reminders again)"
)


async def withdraw(session: AsyncSession, campaign_id: uuid.UUID) -> int:
    """The campaign's messages still queued, withdrawn (`failed`, WITHDRAWN, their links blanked): they
    were written with the old dates. In the caller's transaction; how many."""
    messages = await OutboxRepository(session).queued_of(campaign_id)
    for message in messages:
        message.status = MessageStatus.failed
        message.last_error = WITHDRAWN
        _blank_secrets(message)
    return len(messages)


# The fragment parameter that carries a secret in a message's links (planeco_diagnostic.mailings).
LINK_FRAGMENT_KEY = "jeton"
_KEYED_FRAGMENT = re.compile(rf"(#{LINK_FRAGMENT_KEY}=)[A-Za-z0-9_\-]+")
BLANKED = "(envoyé)"


def without_secrets(body: str) -> str:
    """The body with every link's secret blanked (`…#jeton=(envoyé)`)."""
    return _KEYED_FRAGMENT.sub(rf"\g<1>{BLANKED}", body)


def _blank_secrets(message: OutboxMessage) -> None:
    message.text_body = without_secrets(message.text_body)
    message.html_body = without_secrets(message.html_body)


@dataclass(slots=True)
class Delivery:
    """What one run did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    interrupted: int = 0
    deferred_by_cap: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (message id, error)


def _backoff(settings: DiagnosticSettings, attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=settings.mail_retry_seconds * 2 ** max(attempts - 1, 0))


def _describe(error: BaseException) -> str:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = "; ".join(f"{item.recipient}: {item.code} {item.message}" for item in error.recipients)
        text = f"recipient refused ({refused})"
    elif isinstance(error, aiosmtplib.SMTPResponseException):
        text = f"SMTP {error.code}: {error.message}"
    else:
        text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return text[:MAX_ERROR_LENGTH]


async def deliver_due(runtime: ServiceRuntime, *, now: dt.datetime | None = None) -> Delivery:
    """One pass of the outbox (the `send-mail` job's work; see the module's docstring). `now`: the time the
    pass acts at (the clock by default)."""
    settings = runtime.settings
    assert isinstance(settings, DiagnosticSettings)
    moment = now or utcnow()
    delivery = Delivery()
    async with runtime.transaction() as session:
        delivery.interrupted = await OutboxRepository(session).fail_interrupted(INTERRUPTED)
        budget = settings.mail_daily_cap - await OutboxRepository(session).sent_since(
            moment - dt.timedelta(days=1)
        )
        due = list(await OutboxRepository(session).due(moment, limit=settings.mail_batch))
        ids = [message.id for message in due]
    if budget < len(ids):
        delivery.deferred_by_cap = len(ids) - max(budget, 0)
        ids = ids[: max(budget, 0)]
    if not ids:
        return delivery
    smtp = connection(settings)
    connected = False
    for message_id in ids:
        async with runtime.transaction() as session:
            message = await OutboxRepository(session).claim(message_id)
            if message is None:  # no longer queued: another run has it
                continue
            mail = build_message(message, settings)
        try:
            if not connected:
                await smtp.connect()
                connected = True
            await smtp.send_message(mail)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            if isinstance(error, (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError)):
                connected = False
                smtp.close()
            await _record_failure(runtime, message_id, _describe(error), moment, delivery)
            continue
        async with runtime.transaction() as session:
            message = await OutboxRepository(session).get(message_id)
            assert message is not None
            message.status = MessageStatus.sent
            message.sent_at = utcnow()
            message.last_error = None
            _blank_secrets(message)
        delivery.sent += 1
    if connected:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError, TimeoutError):
            smtp.close()
    return delivery


async def _record_failure(
    runtime: ServiceRuntime, message_id: uuid.UUID, error: str, moment: dt.datetime, delivery: Delivery
) -> None:
    settings = runtime.settings
    assert isinstance(settings, DiagnosticSettings)
    async with runtime.transaction() as session:
        message = await OutboxRepository(session).get(message_id)
        assert message is not None
        message.last_error = error
        if message.attempts >= settings.mail_max_attempts:
            message.status = MessageStatus.failed
            _blank_secrets(message)  # a new mail issues a new token
            delivery.failed += 1
        else:
            message.status = MessageStatus.queued
            message.next_attempt_at = moment + _backoff(settings, message.attempts)
            delivery.retried += 1
    delivery.errors.append((str(message_id), error))


def _visible(principal: Principal) -> ColumnElement[bool]:
    """Admins read the whole outbox; a coordinator the messages about its territory."""
    if principal.role is Role.admin:
        return true()
    ref = scope_ref(principal) if principal.role is Role.coordinator else None
    if ref is None:
        return false()
    if ref.level is Level.region:
        return OutboxMessage.region_code == ref.identifier
    return OutboxMessage.departement_code == ref.identifier


async def list_outbox(
    session: AsyncSession, filters: OutboxFilters, *, principal: Principal, params: PageParams
) -> Page[OutboxMessageRead]:
    statement = OutboxRepository(session).list_statement(filters, visible=_visible(principal))
    return await paginate_into(session, statement, params, OutboxMessageRead.model_validate)
