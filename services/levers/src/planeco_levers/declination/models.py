"""Declination keys a région uploads: per lever and level, a weight for every child territory.

A key belongs to a région, a lever id and a level (départements or EPCI). It does not depend on the panorama
version: the same key declines the lever's objective of every version. Without a key, population applies.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, ForeignKeyConstraint, Integer, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from planeco_levers.db import Base
from planeco_shared.models import UTCDateTime, utcnow

# Uploads accept at most 6 decimals and values below 10^9: at most 15 significant digits, which read back
# exactly on both databases (SQLite keeps NUMERIC as a double).
KeyValueType = Numeric(18, 6)


class DeclinationLevel(StrEnum):
    """The territories below the région an objective is declined to."""

    departement = "departement"
    epci = "epci"
    crte = "crte"


class DeclinationKey(Base):
    """A région's own key for one lever at one level (its values: DeclinationKeyValue)."""

    __tablename__ = "declination_keys"

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), primary_key=True)
    lever_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)  # DeclinationLevel (not crte)
    name: Mapped[str] = mapped_column(String(120))  # what the weights are: "SAU 2020"
    source: Mapped[str | None] = mapped_column(String(300))  # where they come from
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative API)


class DeclinationKeyValue(Base):
    """The weight of one child territory (INSEE code of a département, SIREN of an EPCI) in a key."""

    __tablename__ = "declination_key_values"
    __table_args__ = (
        ForeignKeyConstraint(
            ["region_code", "lever_id", "level"],
            ["declination_keys.region_code", "declination_keys.lever_id", "declination_keys.level"],
            ondelete="CASCADE",
        ),
    )

    region_code: Mapped[str] = mapped_column(String(3), primary_key=True)
    lever_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    level: Mapped[str] = mapped_column(String(20), primary_key=True)
    code: Mapped[str] = mapped_column(String(9), primary_key=True)
    value: Mapped[Decimal] = mapped_column(KeyValueType)
