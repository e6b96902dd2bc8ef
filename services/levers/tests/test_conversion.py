"""The pure conversion functions against the simulator's rules and the real data of the three versions."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from planeco_levers.levers.conversion import (
    ConversionError,
    Factors,
    js_round,
    physical_2030,
    physical_bounds,
    to_ktco2e,
    to_physical,
)

DATA = Path(__file__).resolve().parents[1] / "data" / "sgpe-panorama"
# Grand Est, augm_voitelec (identical in the three versions).
ELECTRIC_CARS = Factors(ratio=Decimal("0.4677"), start_2019=Decimal("7.821"), has_physical_unit=True)
# A lever whose physical quantity must go down (homes heated with oil): negative ratio.
OIL_HEATING = Factors(ratio=Decimal("-2.5"), start_2019=Decimal("100"), has_physical_unit=True)


def test_grand_est_electric_cars_in_2030() -> None:
    result = to_physical(Decimal("966.1408"), ELECTRIC_CARS)
    assert result.physical == Decimal("459.68505216")  # 7.821 + 966.1408 × 0.4677, exactly
    assert result.physical_rounded == Decimal("459.7")  # « 460 000 véhicules »
    assert result.ktco2e_rounded == Decimal(966)
    assert not result.clamped


def test_back_conversion_is_exact_and_rounded_like_the_simulator() -> None:
    back = to_ktco2e(Decimal("459.68505216"), ELECTRIC_CARS)
    assert back.ktco2e == Decimal("966.1408")
    assert back.ktco2e_rounded == Decimal(966)
    rounded_input = to_ktco2e(Decimal("459.7"), ELECTRIC_CARS)
    assert rounded_input.ktco2e == Decimal("966.172760316442")  # 451.879 / 0.4677 to 12 places
    assert rounded_input.ktco2e_rounded == Decimal(966)


def test_javascript_math_round_semantics() -> None:
    assert js_round(Decimal("2.5")) == 3
    assert js_round(Decimal("-2.5")) == -2  # halves go towards +∞, unlike Python's round()
    assert js_round(Decimal("0.45"), 1) == Decimal("0.5")
    assert js_round(Decimal("459.68505216"), 1) == Decimal("459.7")
    assert str(js_round(Decimal("12"), 1)) == "12.0"


def test_negative_ratio_clamps_the_physical_value_at_zero() -> None:
    assert physical_2030(Decimal(10), OIL_HEATING) == Decimal(75)
    beyond = to_physical(Decimal(50), OIL_HEATING)  # 100 − 125 < 0
    assert beyond.physical == 0
    assert beyond.clamped
    assert physical_bounds(OIL_HEATING) == (Decimal(0), Decimal(100))
    assert to_ktco2e(Decimal(0), OIL_HEATING).ktco2e == Decimal(40)


@pytest.mark.parametrize(
    ("factors", "physical"),
    [(ELECTRIC_CARS, Decimal("7.8")), (OIL_HEATING, Decimal("100.1")), (OIL_HEATING, Decimal("-1"))],
)
def test_physical_values_the_simulator_would_clamp_are_refused(factors: Factors, physical: Decimal) -> None:
    with pytest.raises(ConversionError) as caught:
        to_ktco2e(physical, factors)
    assert caught.value.code == "out-of-bounds"
    assert caught.value.field == "physical"


def test_negative_ktco2e_is_refused() -> None:
    with pytest.raises(ConversionError) as caught:
        to_physical(Decimal("-1"), ELECTRIC_CARS)
    assert (caught.value.code, caught.value.field) == ("out-of-bounds", "ktco2e")


def test_levers_without_physical_unit_or_ratio_do_not_convert() -> None:
    no_unit = Factors(ratio=Decimal(0), start_2019=Decimal(0), has_physical_unit=False)
    for convert in (to_physical, to_ktco2e):
        with pytest.raises(ConversionError) as caught:
            convert(Decimal(1), no_unit)
        assert caught.value.code == "no-physical-unit"
    zero_ratio = Factors(ratio=Decimal(0), start_2019=Decimal(0), has_physical_unit=True)
    assert to_physical(Decimal(5), zero_ratio).physical == 0
    with pytest.raises(ConversionError) as caught:
        to_ktco2e(Decimal(0), zero_ratio)
    assert caught.value.code == "no-conversion"


def test_every_objective_of_the_three_versions_round_trips() -> None:
    checked = 0
    for path in sorted(DATA.glob("panorama-*.json")):
        for row in json.loads(path.read_bytes(), parse_float=Decimal):
            factors = Factors(
                ratio=Decimal(row["ratioCO2toPhys"]),
                start_2019=Decimal(row["startPoint2019"]),
                has_physical_unit=not row["noTranslation"],
            )
            if not factors.has_physical_unit or factors.ratio == 0:
                continue
            objective = Decimal(row["objCO2"])
            forward = to_physical(objective, factors)
            assert forward.physical == max(Decimal(0), factors.start_2019 + objective * factors.ratio)
            if not forward.clamped:
                assert to_ktco2e(forward.physical, factors).ktco2e == objective
            checked += 1
    assert checked > 900
