"""The outbox's job: `send-mail`, every minute by default (planeco_diagnostic.jobs)."""

from __future__ import annotations

from collections.abc import Mapping

from planeco_diagnostic.outbox.service import deliver_due
from planeco_shared.jobs import JobContext


async def send_mail_job(context: JobContext) -> Mapping[str, int]:
    """Send the due messages of the outbox (see planeco_diagnostic.outbox.service for the guarantees)."""
    delivery = await deliver_due(context.runtime)
    for message_id, error in delivery.errors:
        context.error(error, item=f"message {message_id}", type="smtp")
    return {
        "sent": delivery.sent,
        "retried": delivery.retried,
        "failed": delivery.failed,
        "interrupted": delivery.interrupted,
        "deferred_by_cap": delivery.deferred_by_cap,
    }
