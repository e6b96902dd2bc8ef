from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_shared.models import PortableJSON, TimestampMixin, UTCDateTime


class ResponseStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"


class Response(TimestampMixin, Base):
    """The response of one invitee to its campaign (one per invitee: its id is the invitee's)."""

    __tablename__ = "responses"

    invitee_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaign_invitees.id"), primary_key=True)
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id"), index=True)
    status: Mapped[ResponseStatus] = mapped_column(
        Enum(ResponseStatus, native_enum=False, length=20), default=ResponseStatus.draft
    )
    # Item key → its answer, as validated (decimals as plain decimal strings).
    answers: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
