"""The financing view of a roadmap: the budget lines of its actions (not archived, not abandoned) summed
per year, per main lever (an action's whole cost goes to its main lever: budget lines are not split by
lever), per financer (by name as entered, spaces collapsed) and planned / secured. Euros are exact sums of
the lines (to the cent): the cells add up to each view and each view to the total."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from planeco_actions.actions.models import Action
from planeco_actions.roadmaps.schemas import (
    FinancingAmounts,
    FinancingByFinancer,
    FinancingByLever,
    FinancingByYear,
    FinancingCell,
    FinancingRead,
    RoadmapScope,
)

ZERO = Decimal(0)
CENTS = Decimal("0.01")
K = TypeVar("K", bound=Hashable)


def _amounts(lines: Sequence[dict[str, Any]]) -> dict[str, Decimal]:
    planned = sum((Decimal(line["amount_eur"]) for line in lines if line["status"] == "planifie"), ZERO)
    secured = sum((Decimal(line["amount_eur"]) for line in lines if line["status"] == "acquis"), ZERO)
    # Sums of cents are exact: quantizing only writes every amount with its two places ("0.00").
    return {
        "planifie_eur": planned.quantize(CENTS),
        "acquis_eur": secured.quantize(CENTS),
        "total_eur": (planned + secured).quantize(CENTS),
    }


def _grouped(
    lines: Sequence[tuple[Action, dict[str, Any]]], key: Callable[[Action, dict[str, Any]], K]
) -> dict[K, list[tuple[Action, dict[str, Any]]]]:
    groups: dict[K, list[tuple[Action, dict[str, Any]]]] = defaultdict(list)
    for action, line in lines:
        groups[key(action, line)].append((action, line))
    return groups


def _financer(line: dict[str, Any]) -> str:
    return " ".join(str(line["financer"]).split())


def build(region: str, scope: RoadmapScope, actions: Sequence[Action]) -> FinancingRead:
    lines = [(action, line) for action in actions for line in action.budget_lines]

    def amounts(group: list[tuple[Action, dict[str, Any]]]) -> dict[str, Decimal]:
        return _amounts([line for _, line in group])

    cells = _grouped(lines, lambda action, line: (int(line["year"]), action.lever_id or "", _financer(line)))
    years = _grouped(lines, lambda _, line: int(line["year"]))
    levers = _grouped(lines, lambda action, _: action.lever_id or "")
    financers = _grouped(lines, lambda _, line: _financer(line))
    return FinancingRead(
        region=region,
        scope=scope,
        cells=[
            FinancingCell(
                year=year,
                lever_id=lever or None,
                financer=financer,
                actions=len({action.id for action, _ in group}),
                **amounts(group),
            )
            for (year, lever, financer), group in sorted(cells.items())
        ],
        by_year=[FinancingByYear(year=year, **amounts(group)) for year, group in sorted(years.items())],
        by_lever=[
            FinancingByLever(lever_id=lever or None, **amounts(group))
            for lever, group in sorted(levers.items())
        ],
        by_financer=[
            FinancingByFinancer(financer=name, **amounts(group)) for name, group in sorted(financers.items())
        ],
        total=FinancingAmounts(**_amounts([line for _, line in lines])),
    )
