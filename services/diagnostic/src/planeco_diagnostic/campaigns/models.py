from __future__ import annotations

import datetime as dt
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import Date, Enum, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_diagnostic.db import Base
from planeco_shared.models import PortableJSON, TimestampMixin
from planeco_shared.owners import OwnerLevel


class InviteeType(StrEnum):
    """The kind of collectivité an invitee is (the breakdown of the response rates)."""

    region = "region"
    departement = "departement"
    metropole = "metropole"
    cu = "cu"  # communauté urbaine
    ca = "ca"  # communauté d'agglomération
    cc = "cc"  # communauté de communes
    commune = "commune"


class Campaign(TimestampMixin, Base):
    """A questionnaire (locked by it) sent to the collectivités of a territory, between two dates."""

    __tablename__ = "campaigns"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    questionnaire_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("questionnaires.id"), index=True)
    owner_level: Mapped[OwnerLevel] = mapped_column(Enum(OwnerLevel, native_enum=False, length=20))
    owner_code: Mapped[str] = mapped_column(String(3), index=True)
    owner_region: Mapped[str] = mapped_column(String(3), index=True)
    title: Mapped[str] = mapped_column(String(200))
    opening_date: Mapped[dt.date] = mapped_column(Date)
    closing_date: Mapped[dt.date] = mapped_column(Date)
    panorama_version: Mapped[str] = mapped_column(String(20))
    # The invitee selection as asked (InviteeSelection), kept with the list it gave that day.
    selection: Mapped[dict[str, Any]] = mapped_column(PortableJSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)


class Invitee(Base):
    """A collectivité invited to a campaign, as the levers service described it on the campaign's day."""

    __tablename__ = "campaign_invitees"
    __table_args__ = (UniqueConstraint("campaign_id", "code", name="uq_campaign_invitees_campaign_code"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    campaign_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("campaigns.id"), index=True)
    # INSEE code (région, département, commune) or SIREN (EPCI).
    code: Mapped[str] = mapped_column(String(9))
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[InviteeType] = mapped_column(Enum(InviteeType, native_enum=False, length=20))
    # The département it lies in (an EPCI: its seat's); null for a région.
    departement: Mapped[str | None] = mapped_column(String(3))
    population: Mapped[int] = mapped_column(Integer, default=0)
