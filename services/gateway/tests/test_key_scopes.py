"""What territory an API key or a grant may be scoped to (`validate_scope`): the shared code patterns of
`planeco_shared.codes`, never a copy of the gateway's own."""

from __future__ import annotations

import pytest

from planeco_gateway.apikeys.service import InvalidKeyRequest, validate_scope
from planeco_shared.identity import Role


@pytest.mark.parametrize("territory", ["244500468", "45234", "2A004", "45", "2B", "971"])
def test_a_contributor_is_scoped_to_a_collectivite(territory: str) -> None:
    validate_scope(Role.contributor, territory)


@pytest.mark.parametrize("territory", [None, "", "12A34", "4523", "2C", "24450046", "region:24", "45 "])
def test_a_contributor_needs_a_real_collectivite_code(territory: str | None) -> None:
    with pytest.raises(InvalidKeyRequest, match="contributor"):
        validate_scope(Role.contributor, territory)


@pytest.mark.parametrize(
    "territory", ["24", "region:24", "departement:45", "departement:2A", "departement:971"]
)
def test_a_coordinator_is_scoped_to_a_region_or_a_departement(territory: str) -> None:
    validate_scope(Role.coordinator, territory)


@pytest.mark.parametrize(
    "territory",
    [None, "", "245", "region:2A", "departement:", "departement:4", "departement:2C", "departement:45:x"],
)
def test_a_coordinator_needs_a_region_or_departement_form(territory: str | None) -> None:
    with pytest.raises(InvalidKeyRequest, match="coordinator"):
        validate_scope(Role.coordinator, territory)


@pytest.mark.parametrize("role", [Role.admin, Role.reader])
def test_national_roles_have_no_territory(role: Role) -> None:
    with pytest.raises(InvalidKeyRequest, match="not scoped"):
        validate_scope(role, "departement:45")
