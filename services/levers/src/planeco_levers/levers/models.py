"""The lever catalogue: sectors, thématiques (groups) and the levers of each panorama version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from planeco_levers.db import Base
from planeco_shared.models import PortableJSON


class Sector(Base):
    __tablename__ = "sectors"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)  # stable slug: "transport-voyageurs"
    label: Mapped[str] = mapped_column(String(300))  # canonical French label
    position: Mapped[int] = mapped_column(Integer, default=0)


class LeverGroup(Base):
    """A thématique of the plan: « Mieux se déplacer », « Mieux se loger »…"""

    __tablename__ = "lever_groups"

    id: Mapped[str] = mapped_column(String(60), primary_key=True)  # "mieux-se-deplacer"
    label: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, default=0)


class LeverVersion(Base):
    """A lever as one panorama version describes it.

    Attributes are those most of its régions share; where a région differs (name, unit, ratio, flags) the
    objective row (panoramas) keeps the région's own value, and `varies_by_region` names those attributes.
    """

    __tablename__ = "lever_versions"

    version_id: Mapped[str] = mapped_column(
        ForeignKey("panorama_versions.id", ondelete="CASCADE"), primary_key=True
    )
    lever_id: Mapped[str] = mapped_column(String(80), primary_key=True)  # upstream id: "augm_voitelec"
    position: Mapped[int] = mapped_column(Integer)  # order of first appearance in the file
    name: Mapped[str] = mapped_column(String(300))
    sector_id: Mapped[str] = mapped_column(ForeignKey("sectors.id"), index=True)
    group_id: Mapped[str] = mapped_column(ForeignKey("lever_groups.id"), index=True)
    unit_physical: Mapped[str | None] = mapped_column(Text)  # as in the file (may contain line breaks)
    unit_co2: Mapped[str | None] = mapped_column(Text)
    has_physical_unit: Mapped[bool] = mapped_column(Boolean)  # not noTranslation
    editable: Mapped[bool] = mapped_column(Boolean)  # not editionDisabled
    show_target: Mapped[bool] = mapped_column(Boolean)
    in_mainland: Mapped[bool] = mapped_column(Boolean)
    in_overseas: Mapped[bool] = mapped_column(Boolean)
    region_count: Mapped[int] = mapped_column(Integer)
    varies_by_region: Mapped[list[Any]] = mapped_column(PortableJSON, default=list)
