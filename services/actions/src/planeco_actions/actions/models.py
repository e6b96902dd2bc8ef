from __future__ import annotations

import uuid
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Enum, Integer, Numeric, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from planeco_actions.db import Base
from planeco_shared.models import ArchivableMixin, PortableJSON, TimestampMixin


class ActionStatus(StrEnum):
    proposed = "proposed"
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    abandoned = "abandoned"


class Action(ArchivableMixin, TimestampMixin, Base):
    """A COP action: carried by named actors, for a lever, with a calendar, a cost and an expected impact."""

    __tablename__ = "actions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    region_code: Mapped[str] = mapped_column(String(3), index=True)
    lever_id: Mapped[str | None] = mapped_column(String(80), index=True)
    carriers: Mapped[list[str]] = mapped_column(PortableJSON, default=list)
    start_year: Mapped[int | None] = mapped_column(Integer)
    end_year: Mapped[int | None] = mapped_column(Integer)
    # Euros to the cent; ktCO2e to 0.0001 (0.1 tCO2e), as the SGPE panorama publishes.
    estimated_cost_eur: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    expected_impact_ktco2e: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    status: Mapped[ActionStatus] = mapped_column(
        Enum(ActionStatus, native_enum=False, length=20), default=ActionStatus.proposed, index=True
    )
    created_by: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
