"""Panorama versions and the objectives they give each région, lever by lever."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from planeco_levers.db import Base
from planeco_shared.models import PortableJSON, UTCDateTime, utcnow

# The files have at most 4 decimals and 4 integer digits; imports refuse more than 6 decimals or a magnitude
# of 10^9, so every stored figure has at most 15 significant digits and reads back exactly on both databases.
Quantity = Numeric(18, 6)


class PanoramaVersion(Base):
    __tablename__ = "panorama_versions"

    id: Mapped[str] = mapped_column(String(10), primary_key=True)  # the release date: "2024-07-24"
    source_file: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))  # of the imported bytes
    content_sha256: Mapped[str] = mapped_column(String(64))  # of the parsed content (re-import check)
    imported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    imported_by: Mapped[str] = mapped_column(String(200))
    row_count: Mapped[int] = mapped_column(Integer)  # rows in the file
    objective_count: Mapped[int] = mapped_column(Integer)  # lever × région rows kept
    skipped_row_count: Mapped[int] = mapped_column(Integer)  # "Région exemple"
    lever_count: Mapped[int] = mapped_column(Integer)
    region_count: Mapped[int] = mapped_column(Integer)
    source_fields: Mapped[list[Any]] = mapped_column(PortableJSON, default=list)  # the file's schema
    warnings: Mapped[list[Any]] = mapped_column(PortableJSON, default=list)


class PanoramaObjective(Base):
    """One row of the file: a lever in a région, with the région's own figures, labels, flags and texts."""

    __tablename__ = "panorama_objectives"
    __table_args__ = (
        ForeignKeyConstraint(
            ["version_id", "lever_id"],
            ["lever_versions.version_id", "lever_versions.lever_id"],
            ondelete="CASCADE",
        ),
        Index("ix_panorama_objectives_version_region", "version_id", "region_code"),
    )

    version_id: Mapped[str] = mapped_column(String(10), primary_key=True)
    lever_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    region_code: Mapped[str] = mapped_column(String(3), primary_key=True)  # INSEE code
    row_index: Mapped[int] = mapped_column(Integer)  # position in the source file, from 0
    region_name_source: Mapped[str] = mapped_column(String(300))  # as written: "PACA"
    name: Mapped[str] = mapped_column(String(300))
    sector_id: Mapped[str] = mapped_column(ForeignKey("sectors.id"))
    group_id: Mapped[str] = mapped_column(ForeignKey("lever_groups.id"))
    objective_ktco2e: Mapped[Decimal] = mapped_column(Quantity)  # objCO2
    ratio: Mapped[Decimal] = mapped_column(Quantity)  # ratioCO2toPhys: physical units per ktCO2e
    start_2019: Mapped[Decimal] = mapped_column(Quantity)  # startPoint2019
    unit_physical: Mapped[str | None] = mapped_column(Text)
    unit_co2: Mapped[str | None] = mapped_column(Text)
    has_physical_unit: Mapped[bool] = mapped_column(Boolean)  # not noTranslation
    editable: Mapped[bool] = mapped_column(Boolean)  # not editionDisabled
    show_target: Mapped[bool] = mapped_column(Boolean)
    relative: Mapped[bool | None] = mapped_column(Boolean)
    # Null when the version's schema has no such flag (regionLocked: 2023; regionHidden/Limited: 2024).
    region_enabled: Mapped[bool | None] = mapped_column(Boolean)
    region_locked: Mapped[bool | None] = mapped_column(Boolean)
    region_hidden: Mapped[bool | None] = mapped_column(Boolean)
    region_limited: Mapped[bool | None] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)  # official explanatory text (Markdown)
    region_comment: Mapped[str | None] = mapped_column(Text)
    region_locked_comment: Mapped[str | None] = mapped_column(Text)
    disabled_comment: Mapped[str | None] = mapped_column(Text)
    path_sector: Mapped[str | None] = mapped_column(Text)
    path_group: Mapped[str | None] = mapped_column(Text)
