"""The people the diagnostic writes to, per collectivité (personal data: see the service's docstring)."""

from __future__ import annotations

import uuid
from enum import StrEnum

from sqlalchemy import Boolean, Enum, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_shared.models import TimestampMixin


class ContactLevel(StrEnum):
    region = "region"
    departement = "departement"
    epci = "epci"
    commune = "commune"


class Contact(TimestampMixin, Base):
    """One person to write to for one collectivité (région, département, EPCI by SIREN, commune by INSEE
    code).

    `region_code` and `departement_code` are where the collectivité lies (an EPCI: its seat's), resolved
    through the levers service when the contact is written: the scope filters read them."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("level", "code", "email", name="uq_contacts_collectivite_email"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    level: Mapped[ContactLevel] = mapped_column(Enum(ContactLevel, native_enum=False, length=20))
    code: Mapped[str] = mapped_column(String(9))
    collectivite_name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(3), index=True)
    departement_code: Mapped[str | None] = mapped_column(String(3), index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    function: Mapped[str] = mapped_column(String(200), default="")
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
