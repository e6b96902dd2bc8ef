"""Progress updates in and out, and the overdue list."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from planeco_actions.actions.models import ActionStatus, TerritoryLevel
from planeco_actions.actions.schemas import Cost, Date, Physical
from planeco_shared.codes import DepartementFilter, RegionFilter
from planeco_shared.decimals import Scale
from planeco_shared.text import FreeText

Percent = Annotated[Decimal, Field(ge=0, le=100, examples=["40.00"]), Scale(2)]


class ProgressUpdateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reported_on: Date = Field(description="The date the update describes", examples=["2026-06-30"])
    status: ActionStatus | None = Field(
        default=None,
        description="The action's status at that date; when it differs from the action's, the action moves "
        "to it (coordinators only: a contributor proposes). The action's status when omitted",
    )
    percent_done: Percent = Field(description="How much of the action is done, 0 to 100, to 0.01")
    indicator_value: Physical | None = Field(
        default=None,
        description="The change reached so far in the action's main lever's physical unit (the impact's "
        "`physical`, reached so far), to 0.001; none when omitted",
        examples=["2.000"],
    )
    spent_eur: Cost | None = Field(
        default=None, description="Euros spent so far, to the cent; none when omitted", examples=["45000.00"]
    )
    comment: FreeText = Field(
        default="", max_length=5000, description="Empty when omitted", examples=["Marché attribué."]
    )


class ProgressUpdateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    action_id: uuid.UUID
    reported_on: dt.date
    status: ActionStatus
    percent_done: Decimal = Field(examples=["40.00"])
    indicator_value: Decimal | None = Field(examples=["2.000"])
    indicator_unit: str | None = Field(
        description="The main lever's physical unit (at the version of its stored impact) when the value "
        "was given",
        examples=["milliers de véhicules"],
    )
    spent_eur: Decimal | None = Field(examples=["45000.00"])
    comment: str
    created_by: str
    created_at: dt.datetime


class OverdueFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Date | None = Field(
        default=None, description="The day the deadlines are compared with; today (UTC) when omitted"
    )
    region: RegionFilter | None = None
    departement: DepartementFilter | None = None


class OverdueActionRead(BaseModel):
    action_id: uuid.UUID
    title: str
    status: ActionStatus
    territory_level: TerritoryLevel
    territory_code: str
    region: str
    departement: str | None
    due_on: dt.date = Field(description="The latest milestone, phase end or end date on or before `as_of`")
    due: str = Field(description="What falls due: `fin` (the action's end) or the phase's label")
    last_reported_on: dt.date | None = Field(description="The latest progress update's date; none: never")
