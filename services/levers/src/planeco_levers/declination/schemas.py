"""Declined objectives and declination keys.

Decimals are exact and written as JSON strings ("12.3"), never floats (planeco_levers.decimals).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field

from planeco_levers.decimals import ExactDecimal
from planeco_levers.declination.models import DeclinationLevel


class Precision(StrEnum):
    """The published precision of declined figures, ktCO2e and physical units alike."""

    unit = "1"
    tenth = "0.1"
    hundredth = "0.01"
    thousandth = "0.001"


class UploadLevel(StrEnum):
    """Levels at which a région may upload its own key (CRTE are always declined by population)."""

    departement = "departement"
    epci = "epci"


class ObjectiveBasis(StrEnum):
    """Which regional objective is declined."""

    official = "official"  # the panorama's (SGPE) objective
    adjusted = "adjusted"  # the région's own objective where it stated one (adjustments), else the official


class KeyKind(StrEnum):
    default = "default"
    custom = "custom"


class PhysicalMethod(StrEnum):
    apportioned = "apportioned"  # start and 2030 value apportioned with the key
    not_additive = "not_additive"  # an intensity (per inhabitant, per car, per 100 km, per MWh): not declined
    none = "none"  # the lever has no physical unit


class KeyRead(BaseModel):
    """The key a lever's figures were declined with, at one level."""

    level: DeclinationLevel
    kind: KeyKind = Field(description="`default`: population; `custom`: uploaded by the région")
    name: str = Field(examples=["population"])
    source: str | None
    # Who uploaded it is not published (these reads are public): the audit trail keeps actor and role.
    uploaded_at: dt.datetime | None
    etag: str | None = Field(description="ETag of a custom key: send it as If-Match to replace or delete it")
    note: str | None = Field(
        description="Why population is (or is not) a good proxy for this lever; or why a custom key "
        "was not used"
    )


class RegionFigures(BaseModel):
    basis: ObjectiveBasis = Field(
        description="`official`: the panorama's objective; `adjusted`: the région's own objective (asked for "
        "with `basis=adjusted` and stated by the région), converted with its anchored version's factors"
    )
    anchored_version: str | None = Field(
        description="For an adjusted objective: the panorama version whose ratio and 2019 value convert it"
    )
    objective_ktco2e: ExactDecimal = Field(description="The regional objective, exact (objCO2 when official)")
    objective_ktco2e_rounded: ExactDecimal = Field(
        description="The objective at `precision`, halves away from zero: what the children add up to"
    )
    ratio: ExactDecimal | None = Field(description="Physical units per ktCO2e (null without physical unit)")
    start_2019: ExactDecimal | None = Field(description="The physical value in 2019, exact")
    start_2019_rounded: ExactDecimal | None = Field(description="At `precision`: what the children add up to")
    physical_2030: ExactDecimal | None = Field(
        description="max(0, start_2019 + objective_ktco2e × ratio), exact"
    )
    physical_2030_rounded: ExactDecimal | None = Field(
        description="At `precision`, halves away from zero: what the children add up to"
    )
    clamped: bool = Field(description="The physical value was clamped at 0, as the simulator does")


class ChildFigures(BaseModel):
    code: str = Field(description="INSEE code (département), SIREN (EPCI) or CRTE id", examples=["45"])
    name: str
    weight: ExactDecimal = Field(description="The child's value in the key (population by default)")
    share: ExactDecimal = Field(
        description="weight / Σ weights at 10⁻⁶, apportioned like the figures: shares add up to exactly 1"
    )
    objective_ktco2e: ExactDecimal = Field(description="Its part of the région's rounded objective")
    start_2019: ExactDecimal | None = Field(
        description="Its part of the région's 2019 physical value (null when not declined)"
    )
    physical_2030: ExactDecimal | None = Field(
        description="Its part of the région's 2030 physical value (null when not declined)"
    )


class LeverDeclination(BaseModel):
    lever_id: str = Field(examples=["augm_voitelec"])
    name: str
    sector: str = Field(examples=["transport-voyageurs"])
    sector_label: str
    unit: str | None = Field(description="Physical unit, on one line; null when the lever has none")
    physical_method: PhysicalMethod = Field(
        description="`apportioned`: physical figures declined; `not_additive`: the unit is an intensity "
        "that does not add up across territories, children's physical fields are null; `none`: no unit"
    )
    key: KeyRead
    region: RegionFigures
    children: list[ChildFigures]


class ChildTotal(BaseModel):
    code: str
    name: str
    objective_ktco2e: ExactDecimal = Field(description="Sum of the child's declined figures over the levers")


class DeclinationRead(BaseModel):
    version: str
    region: str = Field(description="INSEE code of the région", examples=["24"])
    region_name: str = Field(description="Its official name (COG)", examples=["Centre-Val de Loire"])
    level: DeclinationLevel
    basis: ObjectiveBasis = Field(
        description="The objectives asked for (each lever's `region.basis` says which)"
    )
    precision: ExactDecimal = Field(description="The quantum every declined figure is a multiple of")
    rounding: str = Field(
        description="How figures are rounded (the same text for every response)",
        examples=["largest remainder (Hamilton) at `precision`; région figures rounded half away from zero"],
    )
    lever_count: int
    total_ktco2e: ExactDecimal = Field(description="Exact sum of the levers' objectives")
    total_ktco2e_rounded: ExactDecimal = Field(
        description="Sum of the levers' rounded objectives: what the children's totals add up to"
    )
    totals: list[ChildTotal] = Field(description="Per child, over the levers returned")
    levers: list[LeverDeclination]


class LeverKeys(BaseModel):
    lever_id: str
    name: str
    sector: str
    sector_label: str
    keys: list[KeyRead] = Field(description="One per level: départements, EPCI, CRTE")


class DeclinationKeysRead(BaseModel):
    version: str
    region: str = Field(description="INSEE code of the région", examples=["24"])
    region_name: str = Field(description="Its official name (COG)", examples=["Centre-Val de Loire"])
    levers: list[LeverKeys]


class KeyValueRead(BaseModel):
    code: str
    name: str
    value: ExactDecimal


class CustomKeyRead(BaseModel):
    """A key uploaded by a région, with its values."""

    region: str = Field(description="INSEE code of the région", examples=["24"])
    region_name: str = Field(description="Its official name (COG)", examples=["Centre-Val de Loire"])
    lever_id: str
    level: UploadLevel
    name: str
    source: str | None
    uploaded_at: dt.datetime
    version: int = Field(description="Incremented by each change; the ETag carries it")
    values: list[KeyValueRead]
