"""Regional adjustments: what a coordinator sends, what reads return, the readable history.

Decimals are exact and written as JSON strings ("1052.3391062647"), never floats (planeco_levers.decimals).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from planeco_levers.adjustments.models import EnteredUnit
from planeco_levers.decimals import ExactDecimal
from planeco_shared.text import FreeText

# The storage scale (NUMERIC(18, 6)) and magnitude: at most 15 significant digits, exact on both databases.
MAX_DECIMAL_PLACES = 6
MAGNITUDE = Decimal(10) ** 9
COMMENT_MAX_LENGTH = 5000

InputDecimal = Annotated[
    Decimal,
    Field(
        decimal_places=MAX_DECIMAL_PLACES,
        gt=-MAGNITUDE,
        lt=MAGNITUDE,
        allow_inf_nan=False,
        description='A decimal number or, better, a string ("500", "966.1408"): at most 6 decimals',
    ),
]
Progress = Annotated[
    Decimal,
    Field(
        decimal_places=MAX_DECIMAL_PLACES,
        ge=0,
        lt=MAGNITUDE,
        allow_inf_nan=False,
        description="ktCO2e, 0 or more, at most 6 decimals",
    ),
]
# Line breaks and tabs are text; other control characters are not (PostgreSQL refuses NUL in text).
Comment = Annotated[
    FreeText, StringConstraints(strip_whitespace=True, min_length=1, max_length=COMMENT_MAX_LENGTH)
]


class AdjustmentPut(BaseModel):
    """The région's own objective for a lever: exactly one of `objective_ktco2e` or `objective_physical`."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "objective_physical": "500",
                    "comment": "500 000 véhicules électriques en 2030 (SRADDET)",
                    "done_ktco2e": "120",
                    "planned_ktco2e": "310.5",
                }
            ]
        },
    )

    objective_ktco2e: InputDecimal | None = Field(
        default=None,
        description="ktCO2e avoided in 2030 versus 2019, 0 or more; the physical value is derived",
    )
    objective_physical: InputDecimal | None = Field(
        default=None,
        description="The 2030 value in the lever's physical unit (e.g. thousand electric cars); ktCO2e is "
        "derived. Between the 2019 value and +∞ when the ratio is positive, between 0 and the 2019 value "
        "when it is negative. Refused for levers without a physical unit.",
    )
    comment: Comment = Field(
        description=f"Why this figure (required, at most {COMMENT_MAX_LENGTH} characters)"
    )
    done_ktco2e: Progress | None = Field(
        default=None,
        description="Réalisé: the part of the objective (ktCO2e avoided in 2030) that actions already "
        "carried out deliver. Omitted: not stated.",
    )
    planned_ktco2e: Progress | None = Field(
        default=None,
        description="Planifié: the part that actions decided and scheduled, not yet carried out, will "
        "deliver (not counting what is done). Omitted: not stated.",
    )


class AdjustedFigures(BaseModel):
    """The région's own objective for a lever, in both units, with its progress."""

    entered_unit: EnteredUnit = Field(description="The unit the région stated its objective in")
    objective_ktco2e: ExactDecimal = Field(
        description="Entered, or derived from the physical value: (physical − start_2019) / ratio to 12 "
        "decimal places (ROUND_HALF_EVEN)"
    )
    objective_ktco2e_rounded: ExactDecimal = Field(
        description="As the simulator displays it: a whole number (Math.round, halves up)"
    )
    physical_2030: ExactDecimal | None = Field(
        description="Entered, or derived: max(0, start_2019 + objective_ktco2e × ratio), exact. Null when "
        "the lever has no physical unit"
    )
    physical_2030_rounded: ExactDecimal | None = Field(
        description="As the simulator displays it: one decimal, halves up"
    )
    clamped: bool = Field(description="The derived physical value was clamped at 0 (the simulator's rule)")
    comment: str
    done_ktco2e: ExactDecimal | None = Field(description="Réalisé (ktCO2e); null: not stated")
    planned_ktco2e: ExactDecimal | None = Field(description="Planifié (ktCO2e); null: not stated")
    remaining_ktco2e: ExactDecimal = Field(
        description="objective_ktco2e − done − planned (unstated parts count 0): what remains to find; "
        "negative when done and planned exceed the objective"
    )
    anchored_version: str = Field(
        description="The panorama version whose ratio and 2019 value convert this adjustment (the version it "
        "was last saved through)"
    )
    anchored_on_this_version: bool = Field(
        description="False when read through another version: the figures still use the anchored "
        "version's factors; save the adjustment through this version to re-anchor it"
    )
    # Who changed it is not published: these reads are public, and a subject identifies an agent or a key.
    # Authenticated callers find it in the history (`…/history`: actor, role, old → new).
    updated_at: dt.datetime


class AdjustmentRead(AdjustedFigures):
    region: str = Field(description="INSEE code of the région", examples=["44"])
    lever_id: str = Field(examples=["augm_voitelec"])
    unit: str | None = Field(description="The physical unit in the anchored version (null: none)")
    ratio: ExactDecimal = Field(
        description="The anchored version's ratioCO2toPhys (physical units per ktCO2e)"
    )
    start_2019: ExactDecimal = Field(description="The anchored version's startPoint2019")
    etag: str = Field(description="The ETag: send it as If-Match to replace or delete the adjustment")


class HistoryAction(StrEnum):
    """The `action` of an adjustment's audit entries (read as `planeco_shared.history.HistoryEntry`)."""

    create = "create"
    update = "update"
    delete = "delete"
