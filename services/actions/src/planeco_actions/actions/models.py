from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Date, Enum, Integer, Numeric, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_actions.db import Base
from planeco_shared.models import ArchivableMixin, PortableJSON, TimestampMixin


class ActionStatus(StrEnum):
    proposee = "proposee"  # proposed (by a contributor, or not yet chosen)
    retenue = "retenue"  # chosen for the roadmap
    en_cours = "en_cours"
    realisee = "realisee"
    abandonnee = "abandonnee"  # abandoned, or a proposal refused


class TerritoryLevel(StrEnum):
    region = "region"
    departement = "departement"
    epci = "epci"
    crte = "crte"
    commune = "commune"


class Nature(StrEnum):
    """What makes it a COP action (seed 001): a new action, or an existing one the COP changes."""

    nouvelle = "nouvelle"
    amplifiee = "amplifiee"
    acceleree = "acceleree"
    reorientee = "reorientee"


class Action(ArchivableMixin, TimestampMixin, Base):
    """A COP action: for a main lever (and others), on one territory, carried by named actors, with a
    calendar, a cost and budget lines."""

    __tablename__ = "actions"
    __table_args__ = (
        UniqueConstraint("territory_level", "territory_code", "external_id", name="uq_actions_external_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    lever_id: Mapped[str | None] = mapped_column(String(80), index=True)
    other_lever_ids: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    # The territory the action is on, and where it lies (its région, its département when it has one):
    # what lists filter "everything inside a région / a département" on.
    territory_level: Mapped[TerritoryLevel] = mapped_column(
        Enum(TerritoryLevel, native_enum=False, length=12), default=TerritoryLevel.region
    )
    territory_code: Mapped[str] = mapped_column(String(40), index=True)
    territory_siren: Mapped[str | None] = mapped_column(String(9))  # a commune's or an EPCI's SIREN
    territory_name: Mapped[str] = mapped_column(String(300), default="")
    region_code: Mapped[str] = mapped_column(String(3), index=True)
    departement_code: Mapped[str | None] = mapped_column(String(3), index=True)
    carriers: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    partners: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    status: Mapped[ActionStatus] = mapped_column(
        Enum(ActionStatus, native_enum=False, length=20), default=ActionStatus.proposee, index=True
    )
    nature: Mapped[Nature | None] = mapped_column(Enum(Nature, native_enum=False, length=12), index=True)
    multi_acteurs: Mapped[bool] = mapped_column(Boolean, default=False)
    structurante: Mapped[bool] = mapped_column(Boolean, default=False)
    start_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    end_date: Mapped[dt.date | None] = mapped_column(Date, index=True)
    phases: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    # Euros to the cent; ktCO2e to 0.0001 (0.1 tCO2e), as the SGPE panorama publishes.
    estimated_cost_eur: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    budget_lines: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    documents: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    external_id: Mapped[str | None] = mapped_column(String(100))
    # Per lever: the entered quantity, the derived one and the panorama version that converted it (JSON,
    # decimals as strings); expected_impact_ktco2e is their sum.
    impacts: Mapped[list[dict[str, Any]]] = mapped_column(PortableJSON, default=list)
    expected_impact_ktco2e: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    published: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # The debate's proposal it was promoted from (planeco_actions.debate), if any.
    proposal_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # Derived at each write, for the list filters (portable LIKE on both databases): "|a|b|" keys.
    lever_keys: Mapped[str] = mapped_column(Text, default="")
    sector_keys: Mapped[str] = mapped_column(Text, default="")
    carrier_keys: Mapped[str] = mapped_column(Text, default="")
    search_text: Mapped[str] = mapped_column(Text, default="")  # title and description, folded
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
