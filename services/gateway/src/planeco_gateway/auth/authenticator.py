"""Who is calling: API key (X-API-Key), bearer JWT (Authorization), or nobody (anonymous).

People signing in with the identity provider get the rights granted to their e-mail, if any.
Results are cached for a short TTL, keyed by a hash of the credential, so the hot path costs a
dict lookup; the signed identity forwarded to services is cached per caller the same way.
"""

from __future__ import annotations

import hashlib
import time

from cachetools import TTLCache
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from planeco_gateway.apikeys.service import principal_for_key
from planeco_gateway.auth.oidc import JwksVerifier
from planeco_gateway.grants.service import apply_grant
from planeco_shared.identity import ANONYMOUS, IDENTITY_TTL_SECONDS, Principal, encode_identity
from planeco_shared.problems import ServiceUnavailable, Unauthorized

_CACHE_SIZE = 10_000


class Authenticator:
    def __init__(
        self,
        *,
        internal_secret: str,
        cache_seconds: int,
        oidc: JwksVerifier | None,
    ) -> None:
        self.sessionmaker: async_sessionmaker[AsyncSession] | None = None  # set in the gateway's lifespan
        self._secret = internal_secret
        self._oidc = oidc
        self._cache_seconds = cache_seconds
        self._keys: TTLCache[bytes, Principal | None] = TTLCache(_CACHE_SIZE, ttl=max(cache_seconds, 0.001))
        self._tokens: TTLCache[bytes, tuple[Principal, float]] = TTLCache(
            _CACHE_SIZE, ttl=max(cache_seconds, 0.001)
        )
        self._identities: dict[Principal, tuple[str, float]] = {}

    async def authenticate(self, api_key: bytes | None, authorization: bytes | None) -> Principal:
        if api_key is not None:
            return await self._by_api_key(api_key)
        if authorization is not None:
            return await self._by_bearer(authorization)
        return ANONYMOUS

    def cached(self, api_key: bytes | None, authorization: bytes | None) -> Principal | None:
        """The principal of a credential checked recently and found valid; None otherwise (unknown,
        invalid, or not checked yet). Lets the hot path skip the failed-attempts limit for known callers."""
        if api_key is not None:
            return self._keys.get(hashlib.sha256(api_key).digest())
        if authorization is not None:
            _, _, token = authorization.decode("latin-1").partition(" ")
            cached = self._tokens.get(hashlib.sha256(token.encode()).digest())
            if cached is not None and cached[1] > time.time():
                return cached[0]
        return None

    async def _by_api_key(self, raw: bytes) -> Principal:
        digest = hashlib.sha256(raw).digest()
        if digest in self._keys:
            principal = self._keys[digest]
        else:
            if self.sessionmaker is None:
                raise ServiceUnavailable("The gateway is starting")
            async with self.sessionmaker() as session:
                principal = await principal_for_key(session, raw.decode("latin-1"))
            if self._cache_seconds:
                self._keys[digest] = principal  # unknown keys too: bad keys must not hammer the database
        if principal is None:
            raise Unauthorized("The API key is unknown or revoked")
        return principal

    async def _by_bearer(self, raw: bytes) -> Principal:
        scheme, _, token = raw.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Authorization must be 'Bearer <token>'")
        digest = hashlib.sha256(token.encode()).digest()
        cached = self._tokens.get(digest)
        if cached is not None and cached[1] > time.time():
            return cached[0]
        if self._oidc is None:
            raise Unauthorized("Bearer tokens are not accepted: no identity provider is configured")
        principal, expires = await self._oidc.verify(token)
        if self.sessionmaker is None:
            raise ServiceUnavailable("The gateway is starting")
        async with self.sessionmaker() as session:
            principal = await apply_grant(session, principal)
        if self._cache_seconds:
            self._tokens[digest] = (principal, expires)
        return principal

    def identity_token(self, principal: Principal) -> str:
        """The signed identity forwarded to services, reused while more than half its lifetime remains."""
        now = time.time()
        cached = self._identities.get(principal)
        if cached is not None and cached[1] > now:
            return cached[0]
        token = encode_identity(principal, self._secret, now=now)
        if len(self._identities) > _CACHE_SIZE:
            self._identities.clear()
        self._identities[principal] = (token, now + IDENTITY_TTL_SECONDS / 2)
        return token

    def forget(self) -> None:
        """Drop cached credentials (after a key is revoked in this process, and in tests)."""
        self._keys.clear()
        self._tokens.clear()
