"""Expected impact per lever: entered in ktCO2e or in the lever's physical unit, the other derived with the
levers service's factors for the action's région at a stated panorama version, and stored with that
version, so that a figure never changes when a new version is imported (a recompute is an explicit call).

The conversion is the SGPE simulator's, physical = start_2019 + ktCO2e × ratio, applied to what the action
changes: physical change = ktCO2e × ratio, ktCO2e = physical change / ratio. Decimal arithmetic throughout;
the entered value is kept as entered (ktCO2e at 0.0001, physical at 0.001), the derived one is rounded to the
same places, ROUND_HALF_EVEN.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any

from planeco_actions.actions.schemas import ImpactInput, ImpactRead, ImpactUnit
from planeco_shared.clients.base import ReferenceCheck, UpstreamRejected
from planeco_shared.clients.levers import LeversClient
from planeco_shared.problems import FieldError

KTCO2E_PLACES = Decimal("0.0001")
PHYSICAL_PLACES = Decimal("0.001")
KTCO2E_MAX = Decimal("999999")


def _stored(read: ImpactRead) -> dict[str, Any]:
    return read.model_dump(mode="json")


def total(impacts: list[dict[str, Any]]) -> Decimal | None:
    """The action's expected impact: the sum of its levers' ktCO2e (exact: each has 4 places)."""
    if not impacts:
        return None
    return sum((Decimal(impact["ktco2e"]) for impact in impacts), Decimal(0))


async def derive(
    levers: LeversClient,
    impacts: list[ImpactInput],
    *,
    region: str,
    action_levers: list[str],
    check: ReferenceCheck,
    errors: list[FieldError],
    version: str | None = None,
) -> list[dict[str, Any]]:
    """The stored form of `impacts` (each at its own version, or at `version` when given); misses go to
    `check`, refusals to `errors`."""
    stored: list[dict[str, Any]] = []
    base: list[str | int] = ["body", "impacts"]
    for index, impact in enumerate(impacts):
        at: list[str | int] = [*base, index]
        if impact.lever_id not in action_levers:
            errors.append(
                FieldError(
                    loc=[*at, "lever_id"],
                    msg="is not the action's lever_id nor one of other_lever_ids",
                    type="value_error",
                )
            )
            continue
        if impact.lever_id in [other.lever_id for other in impacts[:index]]:
            errors.append(
                FieldError(loc=[*at, "lever_id"], msg="has a second impact entry", type="value_error")
            )
            continue
        wanted = version or impact.version
        if version is not None:
            lookup_loc: list[str | int] = ["query", "version"]  # a recompute: the version asked for
        else:
            lookup_loc = [*at, "version" if wanted else "lever_id"]
        lever = await check.exists(
            levers.get_lever(impact.lever_id, version=wanted),
            loc=lookup_loc,
            what=f"lever {impact.lever_id!r}" + (f" in panorama {wanted}" if wanted else ""),
        )
        if lever is None:
            continue
        convertible = lever.has_physical_unit and not lever.intensive_unit
        if impact.physical is not None and not convertible:
            why = (
                f"is an intensity ({lever.unit})"
                if lever.has_physical_unit
                else "does not exist (ktCO2e only)"
            )
            errors.append(
                FieldError(
                    loc=[*at, "physical"],
                    msg=f"lever {impact.lever_id!r}'s physical unit {why}: enter its impact in ktco2e",
                    type="ktco2e-only",
                )
            )
            continue
        ratio: Decimal | None = None
        if convertible:
            try:
                factors = await check.exists(
                    levers.to_physical(
                        impact.lever_id, region=region, version=lever.version, ktco2e=Decimal(0)
                    ),
                    loc=[*at, "lever_id"],
                    what=f"lever {impact.lever_id!r} in région {region} (panorama {lever.version})",
                )
            except UpstreamRejected as refusal:
                # The lever has a physical unit, but no conversion for this région (its panorama gives
                # the région's objective in ktCO2e only): ktCO2e only here.
                if impact.physical is not None:
                    errors.append(
                        FieldError(
                            loc=[*at, "physical"],
                            msg=f"no conversion for lever {impact.lever_id!r} in région {region} "
                            f"({refusal.detail}): enter its impact in ktco2e",
                            type="ktco2e-only",
                        )
                    )
                    continue
                factors = None
            else:
                if factors is None:
                    continue
            ratio = factors.ratio if factors is not None else None
        with localcontext(Context(prec=60)):
            if impact.ktco2e is not None:
                ktco2e = impact.ktco2e
                physical = (
                    (ktco2e * ratio).quantize(PHYSICAL_PLACES, rounding=ROUND_HALF_EVEN)
                    if ratio is not None
                    else None
                )
            else:
                physical = impact.physical
                if not ratio:
                    errors.append(
                        FieldError(
                            loc=[*at, "physical"],
                            msg=f"ratio 0 for lever {impact.lever_id!r} in région {region}: enter ktco2e",
                            type="no-conversion",
                        )
                    )
                    continue
                assert physical is not None  # the input model gives exactly one
                ktco2e = (physical / ratio).quantize(KTCO2E_PLACES, rounding=ROUND_HALF_EVEN)
                if ktco2e < 0 or ktco2e > KTCO2E_MAX:
                    direction = "go down (enter a negative change)" if ratio < 0 else "go up"
                    errors.append(
                        FieldError(
                            loc=[*at, "physical"],
                            msg=f"gives {ktco2e} ktCO2e: for this lever the quantity must {direction}, and "
                            f"at most {KTCO2E_MAX} ktCO2e",
                            type="out-of-bounds",
                        )
                    )
                    continue
        stored.append(
            _stored(
                ImpactRead(
                    lever_id=impact.lever_id,
                    entered=ImpactUnit.ktco2e if impact.ktco2e is not None else ImpactUnit.physical,
                    ktco2e=ktco2e + 0,  # never -0
                    physical=physical + 0 if physical is not None else None,
                    unit=lever.unit if lever.has_physical_unit else None,
                    version=lever.version,
                    ratio=ratio,
                )
            )
        )
    return stored


def as_inputs(impacts: list[dict[str, Any]]) -> list[ImpactInput]:
    """The entered quantities of stored impacts: what a recompute converts again."""
    return [
        ImpactInput(
            lever_id=impact["lever_id"],
            ktco2e=Decimal(impact["ktco2e"]) if impact["entered"] == ImpactUnit.ktco2e else None,
            physical=Decimal(impact["physical"]) if impact["entered"] == ImpactUnit.physical else None,
        )
        for impact in impacts
    ]
