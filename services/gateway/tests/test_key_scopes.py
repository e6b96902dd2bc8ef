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
