"""Explicit rights for people signing in with the identity provider."""

from __future__ import annotations

import dataclasses
import re

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_gateway.apikeys.service import InvalidKeyRequest, validate_scope
from planeco_gateway.grants.models import Grant
from planeco_gateway.grants.repository import GrantRepository
from planeco_shared.identity import Principal, Role
from planeco_shared.models import utcnow

EMAIL_RE = re.compile(r"^[^@\s]{1,200}@[^@\s]{1,118}\.[^@\s]{2,}$")


class InvalidGrantRequest(ValueError):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


async def grant(
    session: AsyncSession, *, email: str, role: Role, territory: str | None, created_by: str
) -> Grant:
    """Give `email` this role (and scope), replacing any grant it had."""
    email = normalize_email(email)
    if not EMAIL_RE.match(email):
        raise InvalidGrantRequest(f"{email!r} is not an e-mail address")
    try:
        validate_scope(role, territory)
    except InvalidKeyRequest as exc:
        raise InvalidGrantRequest(str(exc)) from exc
    await revoke(session, email=email)
    new = Grant(email=email, role=role, territory=territory, created_by=created_by)
    await GrantRepository(session).add(new)
    return new


async def revoke(session: AsyncSession, *, email: str) -> bool:
    current = await GrantRepository(session).active_for(normalize_email(email))
    if current is None:
        return False
    current.revoked_at = utcnow()
    await session.flush()
    return True


async def apply_grant(session: AsyncSession, principal: Principal) -> Principal:
    """The principal with the rights granted to its e-mail, if any (name, e-mail, SIRET kept)."""
    if not principal.email:
        return principal
    current = await GrantRepository(session).active_for(normalize_email(principal.email))
    if current is None:
        return principal
    return dataclasses.replace(principal, role=current.role, territory=current.territory)
