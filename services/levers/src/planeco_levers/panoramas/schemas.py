"""Panorama reads and the import report.

Decimals: every ktCO2e, physical value, ratio and 2019 starting point is an exact decimal written as a JSON
string ("966.1408"), never a float; figures read from the file come back exactly as the file wrote them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from planeco_levers.adjustments.schemas import AdjustedFigures
from planeco_levers.decimals import ExactDecimal


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PanoramaVersionRead(Schema):
    version: str = Field(description="Version id: the SGPE release date", examples=["2024-07-24"])
    latest: bool = Field(description="True for the most recent version (the default of every read)")
    source_file: str
    sha256: str = Field(description="sha256 of the imported file")
    content_sha256: str = Field(description="sha256 of its parsed content (what re-imports compare)")
    imported_at: dt.datetime
    row_count: int = Field(description="Rows in the file")
    objective_count: int = Field(description="Lever × région rows imported")
    skipped_row_count: int = Field(description="Rows skipped (the demonstration région « Région exemple »)")
    lever_count: int
    region_count: int
    source_fields: list[str] = Field(description="Field names the file uses (its schema variant)")
    warnings: list[str]


class LeverFigures(BaseModel):
    """One lever in one région, as the panorama version gives it."""

    lever_id: str = Field(examples=["augm_voitelec"])
    name: str = Field(description="The lever's name in this région's row")
    sector: str = Field(description="Sector id", examples=["transport-voyageurs"])
    sector_label: str
    group: str = Field(description="Thématique id", examples=["mieux-se-deplacer"])
    group_label: str
    objective_ktco2e: ExactDecimal = Field(
        description="objCO2: ktCO2e avoided in 2030 compared with 2019 (exact, as in the file)"
    )
    unit: str | None = Field(
        description="Physical unit (the file's unitPhys on one line); null when the lever has none"
    )
    unit_co2: str | None = Field(description="The file's unitCO2 on one line")
    start_2019: ExactDecimal = Field(description="startPoint2019: the physical value in 2019 (exact)")
    ratio: ExactDecimal = Field(description="ratioCO2toPhys: physical units per ktCO2e (exact; may be < 0)")
    physical_2030: ExactDecimal | None = Field(
        description="max(0, start_2019 + objective_ktco2e × ratio), exact, not rounded; "
        "null when the lever has no physical unit"
    )
    physical_2030_rounded: ExactDecimal | None = Field(
        description="physical_2030 as the simulator displays it: one decimal, halves rounded up"
    )
    has_physical_unit: bool = Field(description="Not noTranslation")
    editable: bool = Field(description="Not editionDisabled: the région may state its own figure")
    show_target: bool
    region_enabled: bool | None
    region_locked: bool | None = Field(description="2023 schema only (null in later versions)")
    region_hidden: bool | None = Field(description="2024 schema (null in 2023)")
    region_limited: bool | None = Field(description="2024 schema (null in 2023)")


class RegionLeverRead(LeverFigures):
    """One lever × région with everything the file says about it, texts included."""

    version: str
    region: str = Field(description="INSEE code of the région", examples=["24"])
    region_name: str = Field(description="Its official name (COG)", examples=["Centre-Val de Loire"])
    source_region_name: str = Field(description="The région as the file names it", examples=["PACA"])
    source_row: int = Field(description="Index of the row in the file's JSON array, from 0")
    unit_source: str | None = Field(description="unitPhys exactly as in the file (line breaks kept)")
    unit_co2_source: str | None = Field(description="unitCO2 exactly as in the file")
    relative: bool | None
    comment: str | None = Field(description="Official explanatory text (Markdown, région-specific figures)")
    region_comment: str | None
    region_locked_comment: str | None
    disabled_comment: str | None
    path_sector: str | None
    path_group: str | None


class SectorTotal(BaseModel):
    sector: str
    label: str
    lever_count: int
    objective_ktco2e: ExactDecimal = Field(description="Exact sum of the levers' objectives")


class RegionSectorTotal(SectorTotal):
    adjusted_lever_count: int = Field(description="Levers of the sector the région adjusted")
    adjusted_objective_ktco2e: ExactDecimal = Field(
        description="Exact sum of the adjusted view: each lever's adjusted objective where the région set "
        "one, its official objective otherwise"
    )


class RegionPanoramaLever(LeverFigures):
    adjusted: AdjustedFigures | None = Field(
        description="The région's own objective for the lever, beside the official one (null: none; "
        "PUT …/adjustments/{lever_id} sets it)"
    )


class RegionPanoramaRead(BaseModel):
    version: str
    region: str = Field(description="INSEE code of the région", examples=["24"])
    region_name: str = Field(description="Its official name (COG)", examples=["Centre-Val de Loire"])
    source_region_name: str
    lever_count: int
    total_ktco2e: ExactDecimal = Field(description="Exact sum of the région's objectives")
    adjusted_lever_count: int = Field(description="Levers the région adjusted (shown in this version)")
    adjusted_total_ktco2e: ExactDecimal = Field(
        description="Exact sum of the adjusted view: adjusted objectives where present, official otherwise"
    )
    sectors: list[RegionSectorTotal]
    levers: list[RegionPanoramaLever]


class RegionSummary(BaseModel):
    code: str
    name: str
    source_name: str = Field(description="The région as the file names it")
    lever_count: int
    total_ktco2e: ExactDecimal


class NationalLever(BaseModel):
    lever_id: str
    name: str
    sector: str
    sector_label: str
    group: str
    group_label: str
    region_count: int
    regions: list[str] = Field(description="INSEE codes of the régions that have this lever")
    objective_ktco2e: ExactDecimal = Field(description="Exact sum over the régions")


class NationalPanoramaRead(BaseModel):
    version: str
    region_count: int
    lever_count: int
    total_ktco2e: ExactDecimal = Field(description="Exact sum over every lever × région")
    sectors: list[SectorTotal]
    levers: list[NationalLever]


class DifferenceStatus(StrEnum):
    added = "added"
    removed = "removed"
    changed = "changed"
    unchanged = "unchanged"


class LeverDifference(BaseModel):
    lever_id: str
    name: str
    sector: str
    sector_label: str
    status: DifferenceStatus
    from_ktco2e: ExactDecimal | None = Field(description="Null when the lever is not in the `from` version")
    to_ktco2e: ExactDecimal | None = Field(description="Null when the lever is not in this version")
    difference_ktco2e: ExactDecimal = Field(description="to − from, exact; a missing side counts as 0")


class ComparisonRead(BaseModel):
    version: str
    from_version: str
    region: str | None = Field(description="INSEE code of the région; null: national sums compared")
    region_name: str | None = Field(description="Its official name (COG); null: national sums")
    from_total_ktco2e: ExactDecimal
    to_total_ktco2e: ExactDecimal
    difference_ktco2e: ExactDecimal = Field(description="Exact; equals the sum of the levers' differences")
    added: list[str] = Field(description="Lever ids only in this version")
    removed: list[str] = Field(description="Lever ids only in the `from` version")
    changed_count: int
    levers: list[LeverDifference]


class ImportOutcome(StrEnum):
    created = "created"
    replaced = "replaced"
    unchanged = "unchanged"


class ImportReport(BaseModel):
    version: str
    outcome: ImportOutcome = Field(description="unchanged: the same content was already imported")
    source_file: str
    sha256: str
    content_sha256: str
    row_count: int
    objective_count: int
    skipped_row_count: int
    lever_count: int
    region_count: int
    warnings: list[str]
