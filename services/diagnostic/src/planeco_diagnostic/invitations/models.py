from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import ForeignKey, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_shared.models import UTCDateTime


class InvitationToken(Base):
    """The invitation token of one invitee: only its SHA-256 is stored (the token is shown once)."""

    __tablename__ = "invitation_tokens"

    invitee_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaign_invitees.id"), primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id"), index=True)
    # Hex SHA-256 of the token; null once revoked.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
