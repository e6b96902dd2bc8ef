"""Largest-remainder apportionment: unit cases and property checks over many generated inputs."""

from __future__ import annotations

import random
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

import pytest

from planeco_levers.declination.apportion import ApportionError, apportion, round_to_quantum

D = Decimal


def reference_round(value: Decimal, quantum: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 200
        return value.quantize(quantum, rounding=ROUND_HALF_UP)


# unit cases


def test_three_equal_weights_share_the_extra_unit_by_code_order() -> None:
    assert apportion(D(10), {"b": D(1), "a": D(1), "c": D(1)}) == {
        "b": D("3.3"),
        "a": D("3.4"),
        "c": D("3.3"),
    }


def test_the_largest_remainder_wins_before_the_larger_weight() -> None:
    # quotas 0.46 / 0.54 tenths… : 1.0 over weights 46 and 54 at 1 → 0.46 and 0.54 → the second gets the unit
    assert apportion(D(1), {"a": D(46), "b": D(54)}, D(1)) == {"a": D(0), "b": D(1)}


def test_ties_on_remainder_go_to_the_larger_weight_then_the_lower_code() -> None:
    # quotas 0.5 and 0.5 (equal remainders), total 1: the larger weight cannot differ; the lower code wins
    assert apportion(D(1), {"b": D(1), "a": D(1)}, D(1)) == {"b": D(0), "a": D(1)}
    # 3 units over weights 1, 1, 2 → quotas 0.75, 0.75, 1.5: remainders .75, .75, .5 → a and b first
    assert apportion(D(3), {"a": D(1), "b": D(1), "c": D(2)}, D(1)) == {"a": D(1), "b": D(1), "c": D(1)}
    # 5 units over 3, 3, 4 (quotas 1.5, 1.5, 2.0): tie on .5 between equal weights → code order
    assert apportion(D(5), {"y": D(3), "x": D(3), "z": D(4)}, D(1)) == {"y": D(1), "x": D(2), "z": D(2)}


def test_the_total_is_rounded_half_away_from_zero() -> None:
    assert round_to_quantum(D("12.25")) == D("12.3")
    assert round_to_quantum(D("12.35")) == D("12.4")
    assert round_to_quantum(D("-12.25")) == D("-12.3")
    assert round_to_quantum(D("12.2499999")) == D("12.2")
    assert sum(apportion(D("12.25"), {"a": D(1), "b": D(1)}).values()) == D("12.3")


def test_negative_totals_mirror_positive_ones() -> None:
    weights = {"a": D(3), "b": D(5), "c": D(7)}
    positive = apportion(D("123.45"), weights, D("0.1"))
    negative = apportion(D("-123.45"), weights, D("0.1"))
    assert negative == {key: -value for key, value in positive.items()}
    assert sum(negative.values()) == D("-123.5")


def test_zero_total_gives_zero_parts_at_the_quantum() -> None:
    parts = apportion(D(0), {"a": D(1), "b": D(2)}, D("0.01"))
    assert parts == {"a": D(0), "b": D(0)}
    assert all(part.as_tuple().exponent == -2 for part in parts.values())


def test_a_zero_weight_gets_exactly_zero_even_when_units_are_left() -> None:
    parts = apportion(D("0.3"), {"a": D(0), "b": D(1), "c": D(1), "d": D(1)}, D("0.1"))
    assert parts == {"a": D(0), "b": D("0.1"), "c": D("0.1"), "d": D("0.1")}
    assert apportion(D(7), {"only": D(2), "none": D(0)}, D(1)) == {"only": D(7), "none": D(0)}


def test_parts_are_multiples_of_the_quantum_with_its_exponent() -> None:
    parts = apportion(D("966.1408"), {"a": D("0.5"), "b": D("0.25")}, D("0.001"))
    assert parts == {"a": D("644.094"), "b": D("322.047")}
    assert {part.as_tuple().exponent for part in parts.values()} == {-3}


def test_weights_of_any_scale_only_their_ratios_matter() -> None:
    a = apportion(D("100"), {"x": D(1), "y": D(2)})
    b = apportion(D("100"), {"x": D("0.000001"), "y": D("0.000002")})
    c = apportion(D("100"), {"x": D("1E+20"), "y": D("2E+20")})
    assert a == b == c == {"x": D("33.3"), "y": D("66.7")}


def test_huge_and_tiny_figures_stay_exact_beyond_the_decimal_context() -> None:
    total = D("123456789012345678901234567890.123456789")
    parts = apportion(total, {"a": D(1), "b": D(2)}, D("0.001"))
    assert sum(Fraction(part) for part in parts.values()) == Fraction("123456789012345678901234567890.123")
    assert apportion(D("0.00004"), {"a": D(1)}, D("0.0001")) == {"a": D("0.0000")}
    assert apportion(D("0.00005"), {"a": D(1)}, D("0.0001")) == {"a": D("0.0001")}


@pytest.mark.parametrize(
    ("weights", "code"),
    [
        ({}, "no-parts"),
        ({"a": D(0), "b": D(0)}, "zero-weights"),
        ({"a": D(1), "b": D(-1)}, "negative-weight"),
        ({"a": D("NaN")}, "not-finite"),
        ({"a": D("Infinity")}, "not-finite"),
    ],
)
def test_weights_that_cannot_split_raise_a_clear_error(weights: dict[str, Decimal], code: str) -> None:
    with pytest.raises(ApportionError) as raised:
        apportion(D(10), weights)
    assert raised.value.code == code


@pytest.mark.parametrize("quantum", [D(0), D("-0.1")])
def test_the_quantum_must_be_positive(quantum: Decimal) -> None:
    with pytest.raises(ApportionError) as raised:
        apportion(D(10), {"a": D(1)}, quantum)
    assert raised.value.code == "quantum"


# properties over generated inputs


def random_decimal(rng: random.Random, *, signed: bool) -> Decimal:
    digits = rng.randint(1, 12)
    places = rng.randint(0, 6)
    value = Decimal(rng.randrange(10**digits)).scaleb(-places)
    if rng.random() < 0.05:
        value = Decimal(0)
    return -value if signed and rng.random() < 0.3 else value


def random_weights(rng: random.Random) -> dict[str, Decimal]:
    count = rng.choice([1, 2, 3, 5, 13, 50, 150])
    style = rng.random()
    weights: dict[str, Decimal] = {}
    for index in range(count):
        if style < 0.2:  # many ties
            weight = Decimal(rng.choice([1, 2]))
        elif style < 0.4:  # populations
            weight = Decimal(rng.randint(0, 2_000_000))
        else:
            weight = random_decimal(rng, signed=False)
        if rng.random() < 0.1:
            weight = Decimal(0)
        weights[f"{rng.randrange(10**9):09d}-{index}"] = weight
    if all(w == 0 for w in weights.values()):
        weights[next(iter(weights))] = Decimal(1)
    return weights


QUANTA = [D(1), D("0.1"), D("0.01"), D("0.001"), D("0.000001")]


def test_parts_add_up_to_the_rounded_total_for_thousands_of_generated_cases() -> None:
    rng = random.Random(20240724)
    for _ in range(2000):
        total = random_decimal(rng, signed=True)
        weights = random_weights(rng)
        quantum = rng.choice(QUANTA)
        parts = apportion(total, weights, quantum)
        rounded = reference_round(total, quantum)
        assert sum(parts.values()) == rounded, (total, weights, quantum)
        assert list(parts) == list(weights)
        # every part a multiple of the quantum, its exact quota rounded down or up (within one quantum)
        unit = Fraction(quantum)
        in_units = Fraction(total) / unit / sum((Fraction(w) for w in weights.values()), Fraction(0))
        for key, part in parts.items():
            units = Fraction(part) / unit
            assert units.denominator == 1
            quota = in_units * Fraction(weights[key])
            assert quota.__floor__() <= units <= quota.__ceil__(), key
            if weights[key] == 0:
                assert part == 0


def test_parts_do_not_depend_on_the_order_of_the_weights() -> None:
    rng = random.Random(7)
    for _ in range(300):
        total = random_decimal(rng, signed=True)
        weights = random_weights(rng)
        shuffled = list(weights.items())
        rng.shuffle(shuffled)
        assert apportion(total, weights, D("0.1")) == apportion(total, dict(shuffled), D("0.1"))


def test_apportionment_is_odd_and_scale_free() -> None:
    rng = random.Random(93)
    for _ in range(300):
        total = random_decimal(rng, signed=False)
        weights = random_weights(rng)
        quantum = rng.choice(QUANTA)
        parts = apportion(total, weights, quantum)
        assert apportion(-total, weights, quantum) == {k: -v for k, v in parts.items()}
        scaled = {k: v * 1000 for k, v in weights.items()}
        assert apportion(total, scaled, quantum) == parts


def test_equal_weights_get_parts_at_most_one_quantum_apart() -> None:
    rng = random.Random(44)
    for _ in range(300):
        count = rng.randint(1, 40)
        total = random_decimal(rng, signed=True)
        parts = apportion(total, {f"{i:03d}": D(1) for i in range(count)}, D("0.1"))
        assert max(parts.values()) - min(parts.values()) <= D("0.1")


def test_the_rounding_of_the_total_matches_half_up_at_every_boundary() -> None:
    for tenths in range(-2000, 2000):
        value = Decimal(tenths).scaleb(-2)  # -20.00 … 19.99 in hundredths
        with localcontext() as context:
            context.rounding = ROUND_FLOOR
            assert round_to_quantum(value, D("0.1")) == value.quantize(D("0.1"), rounding=ROUND_HALF_UP)
