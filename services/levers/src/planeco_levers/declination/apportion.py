"""Largest-remainder (Hamilton) apportionment of a decimal total: parts that add up exactly (pure, no I/O).

`apportion(total, weights, quantum)` splits `total` in proportion to non-negative `weights` and returns
parts that are whole multiples of `quantum` (0.1, 0.01…) adding up EXACTLY to the total rounded to `quantum`:

1. The total is rounded to the quantum, halves away from zero (`ROUND_HALF_UP`): 12.25 → 12.3 at 0.1,
   -12.25 → -12.3. On non-negative figures — every objective and physical value of the SGPE files — this is
   the simulator's Math.round, hence the panoramas' `physical_2030_rounded` at 0.1.
2. Each part's exact quota is total × weight / Σ weights, in units of the quantum. Every part first gets the
   floor of its quota; the units still missing to reach the rounded total (between 0 and the number of
   parts with a fractional quota) go one each to the largest fractional remainders. Ties: larger
   remainder, then larger weight, then the lower key (code order): deterministic, independent of the input
   order.
3. A negative total is apportioned as its absolute value and negated, so apportion(-T) == -apportion(T).

Guarantees: Σ parts == round(total, quantum) exactly; every part is its quota rounded down or up to the
quantum (it differs from the exact quota by less than one quantum); a zero weight gets exactly 0; equal
weights get parts differing by at most one quantum. Arithmetic is on Python integers (every decimal is an
integer times a power of ten): no float, no Decimal context rounding, whatever the magnitudes.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

DEFAULT_QUANTUM = Decimal("0.1")


class ApportionError(ValueError):
    """Weights that cannot split a total. `code` is stable: no-parts, negative-weight, zero-weights, …"""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _integer_scaled(value: Decimal, name: str) -> tuple[int, int]:
    """value == mantissa × 10**exponent, exactly (mantissa an int with the value's sign)."""
    if not value.is_finite():
        raise ApportionError("not-finite", f"{name} must be a finite number, not {value}")
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    mantissa = int("".join(map(str, digits)) or "0")
    return (-mantissa if sign else mantissa), exponent


def _decimal(units: int, exponent: int) -> Decimal:
    """units × 10**exponent as a Decimal, exactly (no context precision involved)."""
    digits = tuple(int(d) for d in str(abs(units)))
    return Decimal((1 if units < 0 else 0, digits, exponent))


def round_to_quantum(value: Decimal, quantum: Decimal = DEFAULT_QUANTUM) -> Decimal:
    """`value` rounded to a multiple of `quantum`, halves away from zero (ROUND_HALF_UP), exactly."""
    return apportion(value, {"": Decimal(1)}, quantum)[""]


def apportion(
    total: Decimal, weights: Mapping[str, Decimal], quantum: Decimal = DEFAULT_QUANTUM
) -> dict[str, Decimal]:
    """Parts of `total` by key, multiples of `quantum`, adding up exactly to `total` rounded to `quantum`.

    `weights` maps a key (a territory code) to a weight ≥ 0; at least one weight must be positive.
    `quantum` is a positive decimal (a power of ten in practice). The result keeps the keys' order.
    """
    if not weights:
        raise ApportionError("no-parts", "There is nothing to apportion to: no territory")
    quantum_units, quantum_exponent = _integer_scaled(quantum, "quantum")
    if quantum_units <= 0:
        raise ApportionError("quantum", f"The quantum must be positive, not {quantum}")
    total_units, total_exponent = _integer_scaled(total, "total")
    scaled: dict[str, tuple[int, int]] = {}
    for key, weight in weights.items():
        scaled[key] = _integer_scaled(weight, f"the weight of {key}")
        if scaled[key][0] < 0:
            raise ApportionError("negative-weight", f"The weight of {key} is negative ({weight})")
    # Integer weights on a common power of ten (their ratios are what matters).
    lowest = min(exponent for _, exponent in scaled.values())
    integer_weights = {key: units * 10 ** (exponent - lowest) for key, (units, exponent) in scaled.items()}
    weight_sum = sum(integer_weights.values())
    if weight_sum == 0:
        raise ApportionError(
            "zero-weights", "Every weight is zero: the key gives no territory a share of the total"
        )

    # quota_i (in quanta) = |total| / quantum × w_i / Σw = numerator_i / denominator, all integers.
    sign = -1 if total_units < 0 else 1
    magnitude = abs(total_units)
    shift = total_exponent - quantum_exponent
    denominator = weight_sum * quantum_units
    if shift >= 0:
        magnitude *= 10**shift
    else:
        denominator *= 10**-shift
    numerators = {key: magnitude * weight for key, weight in integer_weights.items()}

    # The rounded total (halves away from zero: we work on the magnitude).
    whole, rest = divmod(magnitude * weight_sum, denominator)
    rounded_total = whole + (1 if 2 * rest >= denominator else 0)

    floors: dict[str, int] = {}
    remainders: dict[str, int] = {}
    for key, numerator in numerators.items():
        floors[key], remainders[key] = divmod(numerator, denominator)
    missing = rounded_total - sum(floors.values())
    # 0 ≤ missing ≤ number of non-zero remainders (see the module docstring): zero weights never get a unit.
    assert 0 <= missing <= sum(1 for r in remainders.values() if r), (missing, remainders)
    order = sorted(weights, key=lambda key: (-remainders[key], -integer_weights[key], key))
    for key in order[:missing]:
        floors[key] += 1
    return {key: _decimal(sign * floors[key] * quantum_units, quantum_exponent) for key in weights}
