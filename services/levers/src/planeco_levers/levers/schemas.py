"""The lever catalogue and conversions.

Decimals are exact and written as JSON strings ("459.68505216"), never floats.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from planeco_levers.decimals import ExactDecimal


class LeverSort(StrEnum):
    position = "position"  # the order of the SGPE file
    id = "id"
    name = "name"


class Zone(StrEnum):
    metro = "metro"
    drom = "drom"


class LeverRead(BaseModel):
    """A lever as one panorama version describes it (attributes most of its régions share)."""

    id: str = Field(description="Stable SGPE lever id", examples=["augm_voitelec"])
    version: str = Field(description="The panorama version described", examples=["2024-07-24"])
    name: str = Field(examples=["Véhicules électriques"])
    sector: str = Field(description="Sector id", examples=["transport-voyageurs"])
    sector_label: str = Field(examples=["Transport de voyageurs"])
    group: str = Field(description="Thématique id", examples=["mieux-se-deplacer"])
    group_label: str = Field(examples=["Mieux se déplacer"])
    unit: str | None = Field(description="Physical unit on one line; null when the lever has none")
    unit_co2: str | None = Field(description="CO2 unit on one line")
    has_physical_unit: bool = Field(description="False: the objective exists only in ktCO2e (noTranslation)")
    intensive_unit: bool = Field(
        description="True: the physical unit is an intensity (kg/hab, L/100 km, km/voiture, kg/MWh, an "
        "average), which does not add up across territories or actions"
    )
    editable: bool = Field(description="False: régions cannot state their own figure (editionDisabled)")
    show_target: bool
    zones: list[Zone] = Field(description="Where the lever exists: metro (mainland) and/or drom (overseas)")
    region_count: int
    position: int = Field(description="Order of the lever in the SGPE file")
    varies_by_region: list[str] = Field(
        description="Attributes some régions have differently (their own value is in the région panorama)"
    )


class LeverDetail(LeverRead):
    versions: list[str] = Field(description="Every imported version that has this lever, latest first")
    regions: list[str] = Field(description="INSEE codes of the régions that have it in this version")


class TermRead(BaseModel):
    id: str
    label: str
    lever_count: int = Field(description="Levers of the version in this sector or thématique")


class ConversionRead(BaseModel):
    """ktCO2e ↔ physical units as the SGPE simulator converts, with exact and displayed values."""

    lever_id: str
    version: str
    region: str
    direction: Literal["to_physical", "to_ktco2e"]
    ktco2e: ExactDecimal = Field(
        description="to_physical: the input. to_ktco2e: (physical − start_2019) / ratio to 12 decimal places "
        "(ROUND_HALF_EVEN; exact whenever the quotient terminates there)"
    )
    ktco2e_rounded: ExactDecimal = Field(description="The simulator's value: Math.round, a whole number")
    physical: ExactDecimal = Field(
        description="to_physical: max(0, start_2019 + ktco2e × ratio), exact. to_ktco2e: the input"
    )
    physical_rounded: ExactDecimal = Field(
        description="As the simulator displays it: one decimal, halves rounded up"
    )
    clamped: bool = Field(description="True when the physical value was clamped at 0 (simulator behaviour)")
    unit: str | None
    start_2019: ExactDecimal
    ratio: ExactDecimal
