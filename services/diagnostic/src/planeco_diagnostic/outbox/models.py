"""The e-mail outbox: messages written in the transaction that causes them, sent by the `send-mail` job."""

from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, Index, Integer, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_shared.dataversion import UNVERSIONED
from planeco_shared.models import TimestampMixin, UTCDateTime


class MessageStatus(StrEnum):
    queued = "queued"  # waiting for its (next) attempt
    sending = "sending"  # an attempt is under way (or was interrupted: see planeco_diagnostic.outbox.service)
    sent = "sent"  # the SMTP server accepted it
    failed = "failed"  # given up: attempts exhausted, or interrupted after it may have been sent


class OutboxMessage(TimestampMixin, Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (
        Index("ix_outbox_messages_due", "status", "next_attempt_at"),
        {"info": {UNVERSIONED: True}},  # no cached read shows it: the job's writes leave the data version be
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    # Message-ID header, fixed at enqueue time.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    to_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(300))
    template: Mapped[str] = mapped_column(String(100))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    # The territory the message is about: who may read it in the outbox.
    territory_level: Mapped[str] = mapped_column(String(20))
    territory_code: Mapped[str] = mapped_column(String(9))
    region_code: Mapped[str | None] = mapped_column(String(3), index=True)
    departement_code: Mapped[str | None] = mapped_column(String(3))
    # The campaign an invitation or a reminder is about: its queued messages are withdrawn when its dates
    # change, so that none goes out with dates (and a link) no longer right.
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("campaigns.id"), index=True, default=None
    )
    status: Mapped[MessageStatus] = mapped_column(
        Enum(MessageStatus, native_enum=False, length=20), default=MessageStatus.queued
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)
    created_by: Mapped[str] = mapped_column(String(200))
