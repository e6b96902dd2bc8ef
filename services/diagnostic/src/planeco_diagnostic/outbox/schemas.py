from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from planeco_diagnostic.outbox.models import MessageStatus


class OutboxFilters(BaseModel):
    status: MessageStatus | None = Field(default=None, description="Only messages in this status")
    template: str | None = Field(
        default=None, pattern=r"^[a-z0-9-]{1,100}$", description="Only this template's"
    )


class OutboxMessageRead(BaseModel):
    """A message of the outbox and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    to: str = Field(validation_alias="to_address", examples=["c.martin@loiret.fr"])
    reply_to: str | None = Field(examples=["cop@centrevaldeloire.fr"])
    subject: str = Field(examples=["Diagnostic de la COP : à vous de répondre"])
    template: str = Field(examples=["invitation"])
    region: str | None = Field(validation_alias="region_code", description="The région it is about")
    status: MessageStatus
    attempts: int = Field(description="SMTP attempts made so far")
    last_error: str | None = Field(description="Why the last attempt failed; null once sent")
    next_attempt_at: dt.datetime = Field(description="When a queued message is tried next")
    sent_at: dt.datetime | None
    created_at: dt.datetime
    text_body: str = Field(description="The plain-text part")
    html_body: str = Field(description="The HTML part")
