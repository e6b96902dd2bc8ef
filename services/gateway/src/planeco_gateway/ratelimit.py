"""Rate limits at the gateway: per credential, per client IP for anonymous calls, and failed
credential checks per client IP (a key-guessing client gets 429, no longer a free 401 per guess).

Counted with `limits` (fixed windows: one counter increment per request, the cheapest of its
strategies) in memory for one process, or in Redis when several gateway replicas must share the
counters. A storage that fails lets the request through (logged): an outage of Redis must not stop the
API. The client IP is the connection's peer: behind a reverse proxy, run uvicorn with
`FORWARDED_ALLOW_IPS` set to the proxy's address so that it is the caller's (deploy/README.md).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import FixedWindowRateLimiter

from planeco_gateway.settings import GatewaySettings
from planeco_shared.logging import get_logger
from planeco_shared.problems import TooManyRequests

logger = get_logger(__name__)
REDIS_TIMEOUT_SECONDS = 0.25
STORAGE_WARNING_EVERY = 60.0  # seconds: one log line per minute of storage outage, not one per request


@dataclass(frozen=True, slots=True)
class Policy:
    name: str  # the RateLimit-Policy name clients see
    items: tuple[RateLimitItem, ...]


def _policy(name: str, spec: str) -> Policy:
    return Policy(name, tuple(parse_many(spec)))


def open_storage(url: str, key_prefix: str) -> Storage:
    if url == "memory://":
        return MemoryStorage()
    # redis-py's asyncio client (the `redis` package), not coredis: one Redis client in the workspace.
    # Short socket timeouts: a Redis that hangs delays each request by at most this, then it goes through.
    return RedisStorage(
        f"async+{url}",
        implementation="redispy",
        key_prefix=key_prefix,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )


class RateLimits:
    def __init__(self, settings: GatewaySettings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.storage = open_storage(settings.rate_limit_storage, settings.rate_limit_key_prefix)
        self.limiter = FixedWindowRateLimiter(self.storage)
        self.anonymous = _policy("anonymous", settings.rate_limit_anonymous)
        self.authenticated = _policy("authenticated", settings.rate_limit_authenticated)
        self.failed_auth = _policy("failed-auth", settings.rate_limit_failed_auth)
        self._warned_at = -STORAGE_WARNING_EVERY

    def _storage_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= STORAGE_WARNING_EVERY:
            self._warned_at = now
            logger.warning("rate_limit_storage_failed", error=type(exc).__name__, detail=str(exc)[:200])

    async def hit(self, policy: Policy, who: str) -> None:
        """Count one request of `who`; 429 when one of the policy's windows is spent."""
        await self._check(policy, who, count=True)

    async def ensure_not_exhausted(self, policy: Policy, who: str) -> None:
        """429 when `who` has spent the policy already, without counting this request."""
        await self._check(policy, who, count=False)

    async def _check(self, policy: Policy, who: str, *, count: bool) -> None:
        if not self.enabled:
            return
        for item in policy.items:
            try:
                if count:
                    allowed = await self.limiter.hit(item, policy.name, who)
                else:
                    allowed = await self.limiter.test(item, policy.name, who)
            except Exception as exc:  # the storage is down: let the request through
                self._storage_failed(exc)
                return
            if not allowed:
                await self._refuse(policy, item, who)

    async def _refuse(self, policy: Policy, item: RateLimitItem, who: str) -> None:
        try:
            stats = await self.limiter.get_window_stats(item, policy.name, who)
            retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:
            retry_after = item.get_expiry()
        window = item.get_expiry()
        raise TooManyRequests(
            f"Rate limit '{policy.name}' exceeded ({item.amount} per {window} s); retry in {retry_after} s",
            headers={
                "Retry-After": str(retry_after),
                # IETF httpapi draft "RateLimit header fields", only on refusals (they cost a lookup).
                "RateLimit-Policy": f'"{policy.name}";q={item.amount};w={window}',
                "RateLimit": f'"{policy.name}";r=0;t={retry_after}',
            },
        )

    async def aclose(self) -> None:
        """Close the Redis client's connections (the counters stay: other replicas use them)."""
        client = getattr(getattr(self.storage, "bridge", None), "storage", None)
        if client is not None:
            await client.aclose()
