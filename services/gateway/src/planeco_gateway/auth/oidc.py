"""Bearer JWTs from an OpenID Connect provider (ProConnect for agents): RS256, keys from its JWKS URL.

The key set is fetched off the hot path and cached; an unknown `kid` triggers one refetch (key rotation),
at most every 30 seconds so that forged kids cannot hammer the provider.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import jwt

from planeco_shared.identity import AuthMethod, Principal, Role
from planeco_shared.problems import ServiceUnavailable, Unauthorized

MIN_REFETCH_SECONDS = 30.0


class JwksVerifier:
    def __init__(
        self, http: httpx.AsyncClient, *, jwks_url: str, issuer: str, audience: str | None, cache_seconds: int
    ) -> None:
        self._http = http
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._audience = audience
        self._cache_seconds = cache_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if (not force and age < self._cache_seconds) or (force and age < MIN_REFETCH_SECONDS):
                return
            try:
                response = await self._http.get(self._jwks_url)
                response.raise_for_status()
                key_set = jwt.PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, jwt.PyJWTError, ValueError) as exc:
                if not self._keys:
                    raise ServiceUnavailable("The identity provider's keys cannot be fetched") from exc
                return  # keep serving with the keys we have
            self._keys = {k.key_id: k for k in key_set.keys if k.key_id}
            self._fetched_at = time.monotonic()

    async def _key_for(self, kid: str) -> jwt.PyJWK:
        await self._refresh(force=False)
        if kid not in self._keys:
            await self._refresh(force=True)
        key = self._keys.get(kid)
        if key is None:
            raise Unauthorized("The token is signed with an unknown key")
        return key

    async def verify(self, token: str) -> tuple[Principal, float]:
        """The caller and the token's expiry (epoch seconds)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is malformed") from exc
        if header.get("alg") != "RS256":
            raise Unauthorized("Only RS256-signed tokens are accepted")
        key = await self._key_for(str(header.get("kid", "")))
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                issuer=self._issuer,
                audience=self._audience,
                options={"require": ["exp", "iss", "sub"], "verify_aud": self._audience is not None},
                leeway=30,
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The bearer token has expired") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is not valid") from exc
        return principal_from_claims(claims), float(claims["exp"])


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """ProConnect identities carry the SIRET of the agent's organisation: its first 9 digits are the SIREN
    of the collectivité, so the agent contributes for it with no account set-up. Wider rights are granted
    explicitly (not from the token)."""
    siret = claims.get("siret")
    siren = siret[:9] if isinstance(siret, str) and len(siret) == 14 and siret.isdigit() else None
    given = claims.get("given_name") or ""
    usual = claims.get("usual_name") or claims.get("family_name") or ""
    name = f"{given} {usual}".strip() or None
    return Principal(
        subject=f"oidc:{claims['sub']}",
        role=Role.contributor if siren else Role.reader,
        territory=siren,
        name=name,
        email=claims.get("email"),
        siret=siret if isinstance(siret, str) else None,
        method=AuthMethod.oidc,
    )
