"""Base of the service clients.

A call is made on behalf of a principal: the caller's own (a user's request passed on) or, by default,
the calling service's own principal (`planeco_shared.runtime.service_principal`), never a user's
borrowed for the service's own checks. GETs are idempotent: retried with backoff on connection failures
and timeouts. Answers that carry an ETag are kept a few seconds, then revalidated with If-None-Match (a
304 costs the upstream no body). Upstream failures become the problem this service should answer:
`UpstreamNotFound` (404: the caller named something that does not exist; the caller decides which field
that was), `UpstreamRejected` (400/422), `UpstreamFailed` (502: the upstream broke or refused us),
`ServiceUnavailable` (503: unreachable) and `UpstreamTimeout` (504)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import orjson
from pydantic import BaseModel, ConfigDict
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from planeco_shared.identity import IDENTITY_HEADER, IDENTITY_TTL_SECONDS, Principal, encode_identity
from planeco_shared.problems import (
    BadGateway,
    FieldError,
    GatewayTimeout,
    NotFound,
    ServiceUnavailable,
    UnprocessableEntity,
)
from planeco_shared.request_id import current_request_id

ModelT = TypeVar("ModelT", bound=BaseModel)
T = TypeVar("T")
Params = Mapping[str, str | int | bool]


class ClientModel(BaseModel):
    """What a consumer reads of another service's resource: only the fields it needs, the rest ignored,
    so that the owner can add fields without breaking its consumers."""

    model_config = ConfigDict(extra="ignore", frozen=True)


class UpstreamNotFound(NotFound):
    """The upstream has no such resource. Raised as a 404; a caller checking what a client sent turns it
    into a 422 naming the field (`planeco_shared.problems.UnprocessableEntity`)."""


class UpstreamRejected(UnprocessableEntity):
    """The upstream refused the parameters we passed on (400 or 422 there)."""


class UpstreamFailed(BadGateway):
    """The upstream broke or refused us (502)."""


class UpstreamTimeout(GatewayTimeout):
    """The upstream did not answer in time (504)."""


_RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.ReadTimeout, httpx.RemoteProtocolError)


@dataclass(slots=True)
class _Cached:
    etag: str
    body: Any
    fresh_until: float


class ServiceClient:
    """Wraps the runtime's shared `httpx.AsyncClient` (pooled, with its timeouts) for one upstream."""

    service: str = "service"
    MAX_CACHED = 1024

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        internal_secret: str,
        principal: Principal | None = None,
        attempts: int = 3,
        cache_seconds: float = 5.0,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._secret = internal_secret
        self._principal = principal
        self._attempts = attempts
        self._cache_seconds = cache_seconds
        self._cache: dict[tuple[Any, ...], _Cached] = {}
        self._tokens: dict[Principal, tuple[str, float]] = {}

    def _token(self, principal: Principal) -> str:
        """One signed identity per principal for half its lifetime (signing is the costly part)."""
        now = time.time()
        cached = self._tokens.get(principal)
        if cached is not None and cached[1] > now:
            return cached[0]
        if len(self._tokens) >= self.MAX_CACHED:
            self._tokens.clear()
        token = encode_identity(principal, self._secret, now=now)
        self._tokens[principal] = (token, now + IDENTITY_TTL_SECONDS / 2)
        return token

    def _caller(self, principal: Principal | None) -> Principal:
        caller = principal or self._principal
        if caller is None:
            raise TypeError(f"{type(self).__name__} has no service principal: pass principal=")
        return caller

    def _headers(self, principal: Principal) -> dict[str, str]:
        headers = {IDENTITY_HEADER: self._token(principal), "accept": "application/json"}
        request_id = current_request_id()
        if request_id:
            headers["x-request-id"] = request_id
        return headers

    async def get_model(
        self,
        model: type[ModelT],
        path: str,
        *,
        principal: Principal | None = None,
        params: Params | None = None,
    ) -> ModelT:
        """GET and validate the answer into `model` (which ignores fields it does not name)."""
        return model.model_validate(await self.get_json(path, principal=principal, params=params))

    async def get_json(
        self, path: str, *, principal: Principal | None = None, params: Params | None = None
    ) -> Any:
        caller = self._caller(principal)
        key = (path, tuple(sorted((params or {}).items())), caller)
        cached = self._cache.get(key)
        now = time.monotonic()
        if cached is not None and cached.fresh_until > now:
            return cached.body
        headers = self._headers(caller)
        if cached is not None:
            headers["if-none-match"] = cached.etag
        response = await self._send(path, params, headers)
        if response.status_code == 304 and cached is not None:
            cached.fresh_until = time.monotonic() + self._cache_seconds
            return cached.body
        self._raise_for_status(response, path)
        body = orjson.loads(response.content)
        etag = response.headers.get("etag")
        if etag:  # kept even with cache_seconds=0: then every read revalidates
            if len(self._cache) >= self.MAX_CACHED:
                self._cache.clear()
            self._cache[key] = _Cached(etag, body, time.monotonic() + self._cache_seconds)
        return body

    async def _send(self, path: str, params: Params | None, headers: dict[str, str]) -> httpx.Response:
        url = self._base_url + path
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential(multiplier=0.05, max=1.0),
                retry=retry_if_exception_type(_RETRYABLE),
                reraise=True,
            ):
                with attempt:
                    response = await self._http.get(url, params=params, headers=headers)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"The {self.service} service did not answer in time") from exc
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(
                f"The {self.service} service cannot be reached", headers={"Retry-After": "1"}
            ) from exc
        return response

    def _raise_for_status(self, response: httpx.Response, path: str) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = _problem_detail(response)
        if status == 404:
            raise UpstreamNotFound(detail or f"Not found in the {self.service} service: {path}")
        if status in (400, 422):
            raise UpstreamRejected(f"The {self.service} service refused the request: {detail or status}")
        if status == 503:
            raise ServiceUnavailable(
                f"The {self.service} service is unavailable", headers={"Retry-After": "1"}
            )
        if status == 504:
            raise UpstreamTimeout(f"The {self.service} service did not answer in time")
        # 401/403 mean a misconfigured internal secret or a missing right of the service principal:
        # our fault, not the client's.
        raise UpstreamFailed(f"The {self.service} service answered {status}")


def _problem_detail(response: httpx.Response) -> str | None:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return None
    detail = body.get("detail") if isinstance(body, dict) else None
    return detail if isinstance(detail, str) else None


class ReferenceCheck:
    """Checks that what a client names exists in another service, gathering every miss into one 422
    that names each field (a 404 upstream is the client's mistake here, not an outage):

        check = ReferenceCheck()
        await check.exists(levers.get_region(code), loc=["body", "region"], what=f"région {code}")
        check.raise_if_any()
    """

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    async def exists(self, lookup: Awaitable[T], *, loc: list[str | int], what: str) -> T | None:
        try:
            return await lookup
        except UpstreamNotFound:
            self.errors.append(FieldError(loc=loc, msg=f"No {what} exists", type="not_found"))
            return None

    def raise_if_any(self) -> None:
        if self.errors:
            raise UnprocessableEntity(
                "The request names something that does not exist; see `errors`.", errors=self.errors
            )
