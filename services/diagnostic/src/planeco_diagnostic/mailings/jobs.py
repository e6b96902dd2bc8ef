"""The `campaign-reminders` job (planeco_diagnostic.jobs): daily, it e-mails the reminders of every open
campaign that closes in one of `reminder_days_before_closing` days (settings; default 7), to its
non-respondents, as `POST /campaigns/{id}/reminders` would. A campaign already reminded by the job that
(Paris) day is left alone, so a second run the same day sends nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from planeco_diagnostic.invitations.router import PARIS, today
from planeco_diagnostic.mailings.repository import MailingRepository
from planeco_diagnostic.mailings.schemas import MailingKind
from planeco_diagnostic.mailings.service import AUDIT_ACTIONS, send_mailing
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.jobs import JobContext
from planeco_shared.problems import AppError


async def campaign_reminders_job(context: JobContext) -> Mapping[str, int]:
    settings = context.runtime.settings
    assert isinstance(settings, DiagnosticSettings)
    day = today()
    since = dt.datetime.combine(day, dt.time(), tzinfo=PARIS).astimezone(dt.UTC)
    closing = sorted({day + dt.timedelta(days=n) for n in settings.reminder_days_before_closing})
    counts = {"campaigns": 0, "already_reminded": 0, "messages": 0, "without_contact": 0}
    async with context.transaction() as session:
        due = [campaign.id for campaign in await MailingRepository(session).closing_on(closing, today=day)]
    for campaign_id in due:
        try:
            async with context.transaction() as session:
                repository = MailingRepository(session)
                action = AUDIT_ACTIONS[MailingKind.relance]
                if await repository.reminded_since(campaign_id, action, context.principal.subject, since):
                    counts["already_reminded"] += 1
                    continue
                result = await send_mailing(
                    session,
                    campaign_id,
                    None,
                    kind=MailingKind.relance,
                    principal=context.principal,
                    regions=None,
                    today=day,
                    levers=context.runtime.levers,
                    settings=settings,
                )
        except AppError as error:  # rolled back (the levers service down, say): the other campaigns go
            context.error(str(error), item=f"campaign {campaign_id}", type=type(error).__name__)
            continue
        counts["campaigns"] += 1
        counts["messages"] += result.messages
        counts["without_contact"] += len(result.without_contact)
    return counts
