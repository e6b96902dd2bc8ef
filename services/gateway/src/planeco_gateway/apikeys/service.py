"""API keys: `planeco_<id>_<secret>`.

The id finds the row; the secret's SHA-256 is compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_gateway.apikeys.models import ApiKey
from planeco_gateway.apikeys.repository import ApiKeyRepository
from planeco_shared.codes import COLLECTIVITE_PATTERN, COORDINATOR_TERRITORY_PATTERN
from planeco_shared.identity import AuthMethod, Principal, Role
from planeco_shared.models import utcnow

KEY_RE = re.compile(r"^planeco_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
COORDINATOR_RE = re.compile(COORDINATOR_TERRITORY_PATTERN)
COLLECTIVITE_RE = re.compile(COLLECTIVITE_PATTERN)


class InvalidKeyRequest(ValueError):
    pass


@dataclass(frozen=True)
class IssuedKey:
    id: str
    key: str  # shown once


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def validate_scope(role: Role, territory: str | None) -> None:
    if role is Role.anonymous:
        raise InvalidKeyRequest("anonymous is not a role that can be given")
    if role is Role.coordinator and (territory is None or not COORDINATOR_RE.match(territory)):
        raise InvalidKeyRequest(
            "a coordinator needs --territory with a région (its INSEE code: 24, or region:24) "
            "or a département (departement:45)"
        )
    if role is Role.contributor and (territory is None or not COLLECTIVITE_RE.match(territory)):
        raise InvalidKeyRequest(
            "a contributor needs --territory with the SIREN or INSEE code of its collectivité"
        )
    if role in (Role.admin, Role.reader) and territory is not None:
        raise InvalidKeyRequest(f"the {role} role is not scoped to a territory")


async def create_key(
    session: AsyncSession, *, role: Role, territory: str | None, label: str, created_by: str
) -> IssuedKey:
    validate_scope(role, territory)
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    await ApiKeyRepository(session).add(
        ApiKey(
            id=key_id,
            secret_sha256=_digest(secret),
            label=label,
            role=role,
            territory=territory,
            created_by=created_by,
        )
    )
    return IssuedKey(id=key_id, key=f"planeco_{key_id}_{secret}")


async def revoke_key(session: AsyncSession, key_id: str) -> bool:
    key = await ApiKeyRepository(session).get(key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = utcnow()
    await session.flush()
    return True


async def principal_for_key(session: AsyncSession, presented: str) -> Principal | None:
    match = KEY_RE.match(presented)
    if match is None:
        return None
    key_id, secret = match.groups()
    key = await ApiKeyRepository(session).get(key_id)
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_sha256, _digest(secret)):
        return None
    return Principal(
        subject=f"apikey:{key.id}",
        role=key.role,
        territory=key.territory,
        name=key.label,
        method=AuthMethod.api_key,
    )
