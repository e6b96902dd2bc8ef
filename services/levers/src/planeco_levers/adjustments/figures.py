"""An adjustment's figures in both units, derived with the simulator's conversions (pure, no I/O).

What the coordinator entered is stored exactly; the other unit is derived on every read from the anchored
version's factors copied in the row, with planeco_levers.levers.conversion:
- ktCO2e entered → physical_2030 = max(0, start_2019 + ktCO2e × ratio), exact (`clamped` when the max
  applies);
- physical entered → ktCO2e = (physical − start_2019) / ratio, to 12 decimal places (ROUND_HALF_EVEN: exact
  whenever the quotient terminates there);
- `*_rounded` are the simulator's displayed values (Math.round: ktCO2e whole, physical to one decimal).
The simulator's bounds are enforced, not clamped: ktCO2e ≥ 0; a physical value on the right side of the
2019 value; no physical value for a lever without a physical unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from planeco_levers.adjustments.models import EnteredUnit, RegionAdjustment
from planeco_levers.adjustments.schemas import AdjustedFigures
from planeco_levers.levers.conversion import ConversionError, Factors, js_round, to_ktco2e, to_physical

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Derived:
    objective_ktco2e: Decimal
    objective_ktco2e_rounded: Decimal
    physical_2030: Decimal | None
    physical_2030_rounded: Decimal | None
    clamped: bool


def derive(unit: EnteredUnit, value: Decimal, factors: Factors) -> Derived:
    """Both units from the entered one. Raises ConversionError (field `ktco2e`, `physical` or `lever`)."""
    if unit is EnteredUnit.physical:
        result = to_ktco2e(value, factors)
    elif factors.has_physical_unit:
        result = to_physical(value, factors)
    else:
        if value < 0:
            raise ConversionError(
                "out-of-bounds",
                "ktco2e must be 0 or more (emissions avoided in 2030 versus 2019)",
                field="ktco2e",
            )
        return Derived(value, js_round(value), None, None, clamped=False)
    return Derived(
        result.ktco2e, result.ktco2e_rounded, result.physical, result.physical_rounded, result.clamped
    )


def factors_of(adjustment: RegionAdjustment) -> Factors:
    return Factors(
        ratio=adjustment.ratio,
        start_2019=adjustment.start_2019,
        has_physical_unit=adjustment.has_physical_unit,
    )


def derived_of(adjustment: RegionAdjustment) -> Derived:
    return derive(EnteredUnit(adjustment.entered_unit), adjustment.entered_value, factors_of(adjustment))


def adjusted_figures(adjustment: RegionAdjustment, read_version: str) -> AdjustedFigures:
    """The figures a read shows, `read_version` being the panorama version the caller reads through."""
    derived = derived_of(adjustment)
    remaining = (
        derived.objective_ktco2e - (adjustment.done_ktco2e or ZERO) - (adjustment.planned_ktco2e or ZERO)
    )
    return AdjustedFigures(
        entered_unit=EnteredUnit(adjustment.entered_unit),
        objective_ktco2e=derived.objective_ktco2e,
        objective_ktco2e_rounded=derived.objective_ktco2e_rounded,
        physical_2030=derived.physical_2030,
        physical_2030_rounded=derived.physical_2030_rounded,
        clamped=derived.clamped,
        comment=adjustment.comment,
        done_ktco2e=adjustment.done_ktco2e,
        planned_ktco2e=adjustment.planned_ktco2e,
        remaining_ktco2e=remaining,
        anchored_version=adjustment.anchored_version,
        anchored_on_this_version=adjustment.anchored_version == read_version,
        updated_at=adjustment.updated_at,
    )
