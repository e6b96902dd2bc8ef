"""Who may act on which territory, at every level (the rules of planeco_shared.scopes)."""

from __future__ import annotations

import pytest

from planeco_shared.identity import Principal, Role
from planeco_shared.problems import Forbidden
from planeco_shared.scopes import (
    NATION,
    Level,
    ScopeRef,
    Territory,
    ensure_may_act_on,
    may_act_on,
    scope_ref,
)

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
        (who("coordinator", "departement:41"), set()),  # Loir-et-Cher, Loiret's neighbour in région 24
        (who("coordinator", "departement:xyz"), set()),  # not a département's code
        (who("coordinator", "departement:"), set()),
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


def test_a_departement_coordinator_acts_below_its_region_never_on_it() -> None:
    loiret = who("coordinator", "departement:45")
    assert scope_ref(loiret) == ScopeRef(Level.departement, "45")
    assert scope_ref(who("coordinator", "departement:2A")) == ScopeRef(Level.departement, "2A")
    assert scope_ref(who("coordinator", "departement:4")) is None
    assert (
        may_act_on(loiret, LOIRET) and may_act_on(loiret, ORLEANS) and may_act_on(loiret, ORLEANS_METROPOLE)
    )
    assert not may_act_on(loiret, CENTRE)  # its région: the région's coordinators'
    assert not may_act_on(loiret, Territory.departement("41", region="24"))  # a neighbour
    with pytest.raises(Forbidden, match="region 24"):
        ensure_may_act_on(loiret, CENTRE)
