"""A région's own objective for a lever (« ajustement régional »), and what is already done or planned.

One row per (région, lever), whatever the panorama version: the adjustment is *anchored* on the version
through which it was last written (`anchored_version`). That version's ratio and 2019 starting point are
copied into the row (`ratio`, `start_2019`, `has_physical_unit`, `unit_physical`) and convert the entered
figure into the other unit. Importing a new version changes nothing here: the adjustment stays anchored on
its version (reads say so) until the région saves it again through the new one. There is deliberately no
foreign key to `panorama_versions` nor `regions`: re-importing a version with `replace` deletes and rewrites
its rows, and adjustments must outlive that with the factors they were converted with.

DELETE does not remove the row: it clears `active`, so the version counter (the ETag) never restarts and an
ETag read before a delete can never match a later adjustment (no ABA on If-Match).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planeco_levers.db import Base
from planeco_levers.panoramas.models import Quantity
from planeco_shared.models import UTCDateTime, utcnow


class EnteredUnit(StrEnum):
    """The unit the coordinator stated the objective in; the other one is derived."""

    ktco2e = "ktco2e"
    physical = "physical"


class RegionAdjustment(Base):
    __tablename__ = "region_adjustments"

    region_code: Mapped[str] = mapped_column(String(3), primary_key=True)  # INSEE code
    lever_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)  # false once withdrawn (DELETE): the official value applies
    anchored_version: Mapped[str] = mapped_column(String(10))  # the panorama version whose factors convert it
    entered_unit: Mapped[str] = mapped_column(String(10))  # EnteredUnit
    # Exactly as given (at most 6 decimals, |x| < 10^9: 15 significant digits, exact on both databases).
    entered_value: Mapped[Decimal] = mapped_column(Quantity)
    comment: Mapped[str] = mapped_column(Text)
    done_ktco2e: Mapped[Decimal | None] = mapped_column(Quantity)  # réalisé
    planned_ktco2e: Mapped[Decimal | None] = mapped_column(Quantity)  # planifié
    # The anchored version's factors for this lever × région, copied when written.
    ratio: Mapped[Decimal] = mapped_column(Quantity)
    start_2019: Mapped[Decimal] = mapped_column(Quantity)
    has_physical_unit: Mapped[bool] = mapped_column(Boolean)
    unit_physical: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)
