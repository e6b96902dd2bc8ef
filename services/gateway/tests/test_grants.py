"""Grants for people signing in with the identity provider: one active per e-mail, revocable."""

from __future__ import annotations

from pathlib import Path

import pytest

from planeco_gateway.grants.service import InvalidGrantRequest, apply_grant, grant, revoke
from planeco_shared.database import create_engine, create_sessionmaker
from planeco_shared.identity import AuthMethod, Principal, Role
from planeco_shared.testing import migrated_database

AGENT = Principal(
    subject="oidc:agent-7",
    role=Role.contributor,
    territory="234500023",
    name="Camille Martin",
    email="Camille.Martin@Centre-ValdeLoire.fr",
    siret="23450002300028",
    method=AuthMethod.oidc,
)


@pytest.fixture
def gateway_database(tmp_path: Path) -> str:
    """A fresh, migrated gateway database (sync: migrations run their own event loop)."""
    return migrated_database("gateway_grants", Path(__file__).resolve().parents[1], tmp_path)


async def test_a_new_grant_replaces_the_previous_and_revoking_restores_the_default(
    gateway_database: str,
) -> None:
    engine = create_engine(gateway_database)
    sessionmaker = create_sessionmaker(engine)
    try:
        async with sessionmaker.begin() as session:
            await grant(
                session,
                email="camille.martin@centre-valdeloire.fr",
                role=Role.reader,
                territory=None,
                created_by="test",
            )
            await grant(
                session,
                email="camille.martin@centre-valdeloire.fr",
                role=Role.coordinator,
                territory="24",
                created_by="test",
            )
        async with sessionmaker() as session:
            granted = await apply_grant(session, AGENT)
        assert (granted.role, granted.territory) == (Role.coordinator, "24")
        assert (granted.name, granted.siret, granted.subject) == (AGENT.name, AGENT.siret, AGENT.subject)

        async with sessionmaker.begin() as session:
            assert await revoke(session, email="CAMILLE.MARTIN@centre-valdeloire.fr")
            assert not await revoke(session, email="camille.martin@centre-valdeloire.fr")
        async with sessionmaker() as session:
            assert await apply_grant(session, AGENT) == AGENT
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("email", "role", "territory"),
    [
        ("not-an-email", Role.reader, None),
        ("a@b.fr", Role.coordinator, None),
        ("a@b.fr", Role.admin, "24"),
        ("a@b.fr", Role.anonymous, None),
    ],
)
async def test_invalid_grants_are_refused(
    gateway_database: str, email: str, role: Role, territory: str | None
) -> None:
    engine = create_engine(gateway_database)
    try:
        async with create_sessionmaker(engine).begin() as session:
            with pytest.raises(InvalidGrantRequest):
                await grant(session, email=email, role=role, territory=territory, created_by="test")
    finally:
        await engine.dispose()
