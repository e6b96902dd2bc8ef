"""ktCO2e ↔ physical units, exactly as the SGPE simulator converts (pure functions, no I/O).

The simulator (MTES-MCT/planification-territoires, objective input component):
- physical value in 2030 = max(0, startPoint2019 + ktCO2e × ratioCO2toPhys);
- ktCO2e = Math.round((physical − startPoint2019) / ratioCO2toPhys);
- inputs are bounded: ktCO2e ≥ 0; the physical value ≥ startPoint2019 when the ratio is positive, and
  between 0 and startPoint2019 when it is negative (e.g. homes still heated with oil must go down);
- the physical value it displays is rounded to one decimal (Math.round(x × 10) / 10).

Here the arithmetic is Decimal, not float:
- `physical` is exact (a sum of products of the file's decimals);
- `ktco2e` back from a physical value is the quotient to 12 decimal places (ROUND_HALF_EVEN; exact whenever
  the quotient terminates within 12 places, e.g. for a physical value computed from a ktCO2e figure);
- `*_rounded` reproduce the simulator's displayed values with Math.round semantics (halves go towards
  +∞): ktCO2e to a whole number, the physical value to one decimal.
Where the simulator silently clamps an out-of-bounds input, these functions raise `ConversionError`
(the API answers 422); the clamp at 0 of the physical result is the simulator's and is kept (`clamped`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal, localcontext

# An intensity does not add up across territories: "kg annuels/hab", "km annuels/voiture", "L/100km …
# en moyenne", "kg/MWh moyen". Extensive units ("Mtkm/an", "kha/an", "TWh", "milliers de …") do.
INTENSIVE_UNIT = re.compile(r"/\s*(hab|voiture|100\s*km|MWh)\b|\bmoyen(ne)?\b", re.IGNORECASE)


def is_intensive_unit(unit: str | None) -> bool:
    """Whether `unit` is an intensity (per inhabitant, per car, per 100 km, per MWh, an average)."""
    return unit is not None and INTENSIVE_UNIT.search(" ".join(unit.split())) is not None


ZERO = Decimal(0)
HALF = Decimal("0.5")
KTCO2E_PLACES = Decimal("1e-12")
# Operands have at most ~22 significant digits: every product and sum below is exact at this precision.
PRECISION = 80


class ConversionError(ValueError):
    """An input the conversion cannot take. `code` is stable; `field` names the offending input."""

    def __init__(self, code: str, message: str, *, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Factors:
    """One lever × région × version: the file's ratioCO2toPhys, startPoint2019 and noTranslation."""

    ratio: Decimal  # physical units per ktCO2e (negative when the physical quantity must go down)
    start_2019: Decimal
    has_physical_unit: bool


@dataclass(frozen=True, slots=True)
class Conversion:
    ktco2e: Decimal
    ktco2e_rounded: Decimal  # simulator: Math.round, a whole number
    physical: Decimal
    physical_rounded: Decimal  # simulator: Math.round(x × 10) / 10
    clamped: bool  # the physical value was clamped at 0 (ktCO2e beyond what the physical unit can show)


def js_round(value: Decimal, places: int = 0) -> Decimal:
    """JavaScript Math.round at `places` decimals: nearest, halves towards +∞ (Math.round(-2.5) == -2)."""
    unit = Decimal(1).scaleb(-places)
    with localcontext(Context(prec=PRECISION)):
        return ((value / unit + HALF).to_integral_value(rounding=ROUND_FLOOR) * unit).quantize(unit)


def physical_2030(ktco2e: Decimal, factors: Factors) -> Decimal:
    """max(0, start + ktCO2e × ratio), exact."""
    with localcontext(Context(prec=PRECISION)):
        return max(ZERO, factors.start_2019 + ktco2e * factors.ratio)


def physical_bounds(factors: Factors) -> tuple[Decimal, Decimal | None]:
    """Physical values the simulator accepts: [start, ∞) if the ratio is positive, [0, start] if negative."""
    if factors.ratio < 0:
        return ZERO, factors.start_2019
    return factors.start_2019, None


def _require_translation(factors: Factors) -> None:
    if not factors.has_physical_unit:
        raise ConversionError(
            "no-physical-unit",
            "This lever has no physical unit: its objective exists only in ktCO2e",
            field="lever",
        )


def to_physical(ktco2e: Decimal, factors: Factors) -> Conversion:
    _require_translation(factors)
    if ktco2e < 0:
        raise ConversionError(
            "out-of-bounds",
            "ktco2e must be 0 or more (emissions avoided in 2030 versus 2019)",
            field="ktco2e",
        )
    with localcontext(Context(prec=PRECISION)):
        unclamped = factors.start_2019 + ktco2e * factors.ratio
    physical = max(ZERO, unclamped)
    return Conversion(
        ktco2e=ktco2e,
        ktco2e_rounded=js_round(ktco2e),
        physical=physical,
        physical_rounded=js_round(physical, 1),
        clamped=unclamped < 0,
    )


def to_ktco2e(physical: Decimal, factors: Factors) -> Conversion:
    _require_translation(factors)
    if factors.ratio == 0:
        raise ConversionError(
            "no-conversion",
            "The ratio of this lever is 0 in this région: a physical value cannot be turned into ktCO2e",
            field="lever",
        )
    low, high = physical_bounds(factors)
    if physical < low or (high is not None and physical > high):
        start = factors.start_2019
        expected = (
            f"between 0 and the 2019 value {start} (this quantity must go down)"
            if high is not None
            else f"at least the 2019 value {start}"
        )
        raise ConversionError("out-of-bounds", f"physical must be {expected}", field="physical")
    with localcontext(Context(prec=PRECISION)):
        quotient = (physical - factors.start_2019) / factors.ratio
        exact = quotient.quantize(KTCO2E_PLACES, rounding=ROUND_HALF_EVEN)
    return Conversion(
        ktco2e=exact,
        ktco2e_rounded=js_round(quotient),
        physical=physical,
        physical_rounded=js_round(physical, 1),
        clamped=False,
    )
