from __future__ import annotations

import datetime as dt

from sqlalchemy import Enum, String
from sqlalchemy.orm import Mapped, mapped_column

from planeco_gateway.db import Base
from planeco_shared.identity import Role
from planeco_shared.models import UTCDateTime, utcnow


class ApiKey(Base):
    """A machine client's key. Only a SHA-256 of its secret is stored (keys are 256-bit random,
    so a slow password hash adds nothing); the secret is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # public part of the key
    secret_sha256: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    territory: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
