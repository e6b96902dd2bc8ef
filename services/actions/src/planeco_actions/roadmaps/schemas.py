"""The roadmap's read shapes: per lever, the objective, what the actions reach by status, the gap."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_actions.actions.models import ActionStatus, TerritoryLevel

VersionQuery = Annotated[
    str,
    StringConstraints(pattern=r"^(\d{4}-\d{2}-\d{2}|latest)$"),
    Field(description="A panorama version (an SGPE release date) or `latest`", examples=["latest"]),
]


YearQuery = Annotated[
    int,
    Field(
        ge=2019, le=2050, description="The year of the on-track figures; the current year (UTC) when omitted"
    ),
]


class RoadmapTable(StrEnum):
    """A table of a roadmap (one CSV or XLSX file each): its levers, its sectors and total, its actions."""

    levers = "levers"
    sectors = "sectors"
    actions = "actions"


class ObjectiveSource(StrEnum):
    official = "official"  # the SGPE panorama's objective
    adjusted = "adjusted"  # the région's own objective (levers service: PUT …/adjustments/{lever_id})


class RoadmapScope(StrEnum):
    all = "all"  # every action of the territory: a caller of its région
    published = "published"  # published actions only: anonymous callers and those of other régions


class Figures(BaseModel):
    """ktCO2e avoided in 2030 (exact sums of the actions' stored impacts, 4 places)."""

    objective_ktco2e: Decimal = Field(description="The objective in use (official or adjusted)")
    realisee_ktco2e: Decimal = Field(examples=["1.2500"])
    en_cours_ktco2e: Decimal = Field(examples=["3.0000"])
    retenue_ktco2e: Decimal = Field(examples=["10.0000"])
    committed_ktco2e: Decimal = Field(
        description="realisee + en_cours + retenue: what the roadmap counts", examples=["14.2500"]
    )
    proposee_ktco2e: Decimal = Field(
        description="Proposals, apart: not counted in the gap", examples=["2.0000"]
    )
    gap_ktco2e: Decimal = Field(
        description="objective − committed, exact; negative when the actions go beyond the objective",
        examples=["85.7500"],
    )
    covered_share: Decimal | None = Field(
        description="committed / objective, a fraction to 0.0001 (ROUND_HALF_EVEN); null when the "
        "objective is 0",
        examples=["0.1425"],
    )
    expected_ktco2e: Decimal = Field(
        description="Where the straight path 2019 → 2030 objective stands in `year` (see `path`)",
        examples=["38.9773"],
    )
    reached_ktco2e: Decimal = Field(
        description="What the `realisee` actions and the latest progress updates reach (see `path`)",
        examples=["5.2500"],
    )
    on_track: bool = Field(description="reached_ktco2e ≥ expected_ktco2e")


class ProgressSummary(BaseModel):
    """The action's latest progress update (planeco_actions.followups)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    reported_on: dt.date
    status: ActionStatus
    percent_done: Decimal = Field(examples=["40.00"])
    indicator_value: Decimal | None = Field(examples=["2.000"])
    spent_eur: Decimal | None = Field(examples=["45000.00"])


class RoadmapActionImpact(BaseModel):
    action_id: uuid.UUID
    title: str
    status: ActionStatus
    territory_level: TerritoryLevel
    territory_code: str
    departement: str | None
    published: bool
    ktco2e: Decimal | None = Field(
        description="The action's impact on this lever as stored; null: none entered"
    )
    physical: Decimal | None = Field(description="The same in the lever's physical unit, as stored")
    version: str | None = Field(description="The panorama version the stored impact was converted at")
    other_version: bool = Field(
        description="The impact was stored at another panorama version than the roadmap's: shown as "
        "stored, not converted again (recompute the action to move it)"
    )
    reached_ktco2e: Decimal = Field(
        description="What it reaches so far on this lever (see the roadmap's `path`)"
    )
    latest_progress: ProgressSummary | None = Field(description="Its latest progress update; null: none")


class RoadmapLever(Figures):
    lever_id: str = Field(examples=["augm_voitelec"])
    name: str
    sector: str
    unit: str | None = Field(description="The lever's physical unit at the roadmap's version")
    objective_source: ObjectiveSource
    official_objective_ktco2e: Decimal
    ratio: Decimal = Field(description="The région's ratio (physical units per ktCO2e) at the version")
    gap_physical: Decimal | None = Field(
        description="gap_ktco2e × ratio in the lever's unit, to 0.001 (ROUND_HALF_EVEN); null for levers "
        "without a physical unit"
    )
    other_version_impacts: int = Field(description="How many of its actions' impacts are at another version")
    actions: list[RoadmapActionImpact]


class RoadmapSector(Figures):
    sector: str


class RoadmapRead(BaseModel):
    region: str = Field(examples=["24"])
    departement: str | None = Field(
        default=None, description="For a département's roadmap: its code; null for the région's"
    )
    version: str = Field(description="The panorama version of the objectives", examples=["2024-07-24"])
    scope: RoadmapScope = Field(description="Which actions are counted: all, or the published ones only")
    year: int = Field(description="The year the on-track figures are for", examples=[2026])
    path: str = Field(description="How the path to the objective is drawn and what counts as reached")
    rounding: str = Field(
        description="How figures are rounded",
        examples=[
            "ktCO2e exact (sums of 4-place impacts); gap_physical 0.001 and covered_share 0.0001, "
            "ROUND_HALF_EVEN"
        ],
    )
    levers: list[RoadmapLever]
    sectors: list[RoadmapSector]
    total: Figures
    unplaced: list[RoadmapActionImpact] = Field(
        description="Impacts on levers the roadmap's panorama version does not have (stored at another one)"
    )


class FinancingAmounts(BaseModel):
    """Euros, exact sums of the budget lines (to the cent)."""

    planifie_eur: Decimal = Field(description="Planned", examples=["150000.00"])
    acquis_eur: Decimal = Field(description="Secured", examples=["50000.00"])
    total_eur: Decimal = Field(examples=["200000.00"])


class FinancingCell(FinancingAmounts):
    year: int = Field(examples=[2026])
    lever_id: str | None = Field(
        description="The action's main lever (null: none)", examples=["augm_voitelec"]
    )
    financer: str = Field(examples=["ADEME Centre-Val de Loire"])
    actions: int = Field(description="How many actions have a budget line in the cell")


class FinancingByYear(FinancingAmounts):
    year: int = Field(examples=[2026])


class FinancingByLever(FinancingAmounts):
    lever_id: str | None = Field(examples=["augm_voitelec"])


class FinancingByFinancer(FinancingAmounts):
    financer: str = Field(examples=["ADEME Centre-Val de Loire"])


class FinancingRead(BaseModel):
    region: str = Field(examples=["24"])
    scope: RoadmapScope
    cells: list[FinancingCell] = Field(description="Per year, main lever and financer; sorted by those")
    by_year: list[FinancingByYear]
    by_lever: list[FinancingByLever]
    by_financer: list[FinancingByFinancer]
    total: FinancingAmounts


class CalendarPhase(BaseModel):
    kind: str = Field(description="`phase` or `jalon` (a milestone)", examples=["jalon"])
    label: str = Field(examples=["Appel d'offres"])
    start_date: dt.date
    end_date: dt.date | None = Field(description="A phase's end; null for a milestone")


class CalendarAction(BaseModel):
    action_id: uuid.UUID
    title: str
    status: ActionStatus
    lever_id: str | None = Field(examples=["augm_voitelec"])
    territory_level: TerritoryLevel
    territory_code: str = Field(examples=["45"])
    start_date: dt.date | None
    end_date: dt.date | None
    phases: list[CalendarPhase] = Field(description="Its phases and milestones that fall in the year")


class CalendarYear(BaseModel):
    year: int = Field(examples=[2026])
    actions: list[CalendarAction]


class CalendarRead(BaseModel):
    region: str = Field(examples=["24"])
    scope: RoadmapScope
    years: list[CalendarYear] = Field(description="Every year from the first action's start to the last end")
    undated: list[CalendarAction] = Field(description="Actions with no date nor phase")
