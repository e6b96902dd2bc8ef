"""Who may act on which territory, at every level (the rules of planeco_shared.scopes)."""

from __future__ import annotations

import pytest

from planeco_shared.identity import Principal, Role
from planeco_shared.problems import Forbidden
from planeco_shared.scopes import NATION, Level, Territory, ensure_may_act_on, may_act_on

CENTRE = Territory.region("24")
LOIRET = Territory.departement("45", region="24")
ORLEANS_METROPOLE = Territory(
    Level.epci, "244500468", regions=frozenset({"24"}), departements=frozenset({"45"}), siren="244500468"
)
ORLEANS = Territory(
    Level.commune,
    "45234",
    regions=frozenset({"24"}),
    departements=frozenset({"45"}),
    epcis=frozenset({"244500468"}),
    siren="214502346",
)
# An EPCI whose communes lie in two régions takes part in both COPs.
STRADDLING = Territory(
    Level.epci, "200000000", regions=frozenset({"24", "75"}), departements=frozenset({"36", "86"})
)


def who(role: str, territory: str | None = None) -> Principal:
    return Principal(subject=f"test:{role}", role=Role(role), territory=territory)


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (who("admin"), {"nation", "centre", "loiret", "metropole", "orleans", "straddling"}),
        (who("reader"), set()),
        (who("anonymous"), set()),
        (who("coordinator", "24"), {"centre", "loiret", "metropole", "orleans", "straddling"}),
        (who("coordinator", "region:24"), {"centre", "loiret", "metropole", "orleans", "straddling"}),
        (who("coordinator", "76"), set()),
        (who("coordinator", "departement:45"), {"loiret", "metropole", "orleans"}),
        (who("coordinator", "departement:36"), {"straddling"}),
        (who("coordinator", "not a code"), set()),
        (who("contributor", "45234"), {"orleans"}),
        (who("contributor", "214502346"), {"orleans"}),  # its SIREN
        (who("contributor", "244500468"), {"metropole"}),
        (who("contributor", "45"), {"loiret"}),
        (who("contributor", "24"), set()),  # a contributor never acts on a région
    ],
)
def test_who_may_act_on_what(principal: Principal, allowed: set[str]) -> None:
    targets = {
        "nation": NATION,
        "centre": CENTRE,
        "loiret": LOIRET,
        "metropole": ORLEANS_METROPOLE,
        "orleans": ORLEANS,
        "straddling": STRADDLING,
    }
    assert {name for name, target in targets.items() if may_act_on(principal, target)} == allowed


def test_lies_in_follows_every_level() -> None:
    assert ORLEANS.lies_in(ORLEANS_METROPOLE)
    assert ORLEANS.lies_in(LOIRET) and ORLEANS.lies_in(CENTRE) and ORLEANS.lies_in(NATION)
    assert not CENTRE.lies_in(LOIRET)
    assert not ORLEANS_METROPOLE.lies_in(ORLEANS)


def test_refusal_is_a_forbidden_problem_naming_the_territory() -> None:
    with pytest.raises(Forbidden, match="departement 45"):
        ensure_may_act_on(who("coordinator", "76"), LOIRET)
