from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from planeco_actions.actions.models import ActionStatus
from planeco_shared.codes import RegionCode
from planeco_shared.decimals import Scale
from planeco_shared.patch import OMITTED, PatchBody
from planeco_shared.text import FreeText

# SGPE lever ids are lowercase words and may carry accents (`augm_vélotc`).
LeverId = Annotated[str, StringConstraints(pattern=r"^[a-zà-ÿ0-9_-]{1,80}$")]
Title = Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=3, max_length=300)]
Carrier = Annotated[FreeText, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Year = Annotated[int, Field(ge=2019, le=2050)]
# Quantized to the columns' scales (NUMERIC(16, 2), NUMERIC(14, 4)): read back the same everywhere; at most
# 15 significant digits, what both databases store exactly (planeco_shared.decimals).
Cost = Annotated[
    Decimal, Field(ge=0, le=Decimal("9999999999999.99")), Scale(2)  # euros, to the cent
]
Impact = Annotated[
    Decimal, Field(ge=Decimal("-999999"), le=Decimal("999999")), Scale(4)  # ktCO2e, to 0.0001
]


class ActionSort(StrEnum):
    created_at = "created_at"
    title_ = "title"  # a member named `title` would shadow str.title
    start_year = "start_year"
    estimated_cost_eur = "estimated_cost_eur"


class ActionFilters(BaseModel):
    """The list's query parameters, passed whole to the service."""

    # Repeat a filter for several values (OR); different filters combine (AND).
    region: Annotated[
        list[RegionCode] | None, Field(max_length=20, description="Only these régions' actions (repeat)")
    ] = None
    lever_id: Annotated[
        list[LeverId] | None, Field(max_length=50, description="Only actions for these levers (repeat)")
    ] = None
    status: Annotated[
        list[ActionStatus] | None, Field(max_length=5, description="Only actions in these statuses (repeat)")
    ] = None
    sort: Annotated[ActionSort, Field(description="Sort key")] = ActionSort.created_at
    descending: Annotated[bool, Field(description="Sort in descending order")] = False


def _check_calendar(start: int | None, end: int | None) -> None:
    if start is not None and end is not None and end < start:
        raise ValueError("end_year must not be before start_year")


class ActionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: FreeText = Field(default="", max_length=20_000)
    region: RegionCode
    lever_id: LeverId | None = None
    carriers: list[Carrier] = Field(default_factory=list, max_length=50, description="Named carrying actors")
    start_year: Year | None = None
    end_year: Year | None = None
    estimated_cost_eur: Cost | None = None
    expected_impact_ktco2e: Impact | None = None
    status: ActionStatus = ActionStatus.proposed

    @model_validator(mode="after")
    def _calendar(self) -> Self:
        _check_calendar(self.start_year, self.end_year)
        return self


class ActionUpdate(PatchBody):
    """Omitted fields are kept; `null` clears the lever, the years, the cost and the impact."""

    title: Title = OMITTED
    description: FreeText = Field(default=OMITTED, max_length=20_000)
    lever_id: LeverId | None = None
    carriers: list[Carrier] = Field(default=OMITTED, max_length=50)
    start_year: Year | None = None
    end_year: Year | None = None
    estimated_cost_eur: Cost | None = None
    expected_impact_ktco2e: Impact | None = None
    status: ActionStatus = OMITTED


class ActionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str
    region: str = Field(validation_alias="region_code")
    lever_id: str | None
    carriers: list[str]
    start_year: int | None
    end_year: int | None
    estimated_cost_eur: Decimal | None
    expected_impact_ktco2e: Decimal | None
    status: ActionStatus
    created_by: str
    revision: int = Field(
        validation_alias="version", description="Incremented by each change; the ETag carries it"
    )
    created_at: dt.datetime
    updated_at: dt.datetime
    archived_at: dt.datetime | None = Field(
        description="When it was archived (DELETE); null while in use. Archived actions show only with "
        "include_archived"
    )
