from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import Enum, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_gateway.db import Base
from planeco_shared.identity import Role
from planeco_shared.models import UTCDateTime, utcnow


class Grant(Base):
    """A right given explicitly to a person who signs in with the identity provider (ProConnect).

    Without one, an agent is a contributor for the collectivité of its SIRET; a grant makes them, e.g.,
    the coordinator of a région. Keyed by the e-mail the provider asserts (what an administrator knows
    of a colleague), lower-cased. At most one active grant per e-mail: a new grant revokes the previous."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_email_active", "email", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20))
    territory: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
