"""The Aides-territoires API client, as its contract says (`shared/docs/aides-territoires-api.md`).

- The API key is exchanged at `POST /api/connexion/` (header `X-AUTH-TOKEN`, sent there and nowhere else:
  upstream answers a token instead of data to any route that carries it) for a JWT valid 24 h, kept until
  ten minutes before its `exp` (read without verifying the signature: it is the server's to check) and sent
  as `Authorization: Bearer` on data calls. A 401 from a data call (expired, revoked, clock skew): one fresh
  token and one retry; a second 401 is an error.
- Pages of 100 (`itemsPerPage`, capped there), their URLs built here (`page=1..ceil(count/100)`): the `next`
  link keeps one value per query key and drops repeated filters.
- Timeouts on every call, a pause between calls (the API asks for ≤ 1–2 requests/s), retries with exponential
  backoff (tenacity) on 5xx, 429 and connection errors or timeouts; other statuses are errors at once.
- The key is a SecretStr: never in a message, a log line or an exception.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from pydantic import SecretStr
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from planeco_actions.settings import ActionsSettings
from planeco_shared.logging import get_logger

logger = get_logger(__name__)

PAGE_SIZE = 100  # the API's cap on itemsPerPage
TOKEN_MARGIN_SECONDS = 600  # a token is renewed this long before its `exp`
FALLBACK_TOKEN_SECONDS = 23 * 3600  # when the token's `exp` cannot be read
MAX_BACKOFF_SECONDS = 60.0
Params = Sequence[tuple[str, str]]


class AidesTerritoiresError(Exception):
    """A call that did not succeed, said without the key or the token."""


class AidesTerritoiresUnavailable(AidesTerritoiresError):
    """Still failing (5xx, 429, connection error, timeout) after every attempt."""


class AidesTerritoiresRefused(AidesTerritoiresError):
    """The API refused: the key (401 at /api/connexion/), a token refused twice, or another 4xx."""


class _Transient(Exception):
    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True, slots=True)
class AidsPage:
    number: int
    pages: int  # ceil(count / 100) when page 1 was read
    count: int
    results: list[Any]  # the records as received: dicts, normally


class AidesTerritoiresClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: SecretStr,
        timeout: float = 30.0,
        pause: float = 0.5,
        attempts: int = 5,
        backoff: float = 2.0,
    ) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        self.pause = pause
        self.attempts = attempts
        self.backoff = backoff
        self._token: str | None = None
        self._token_renew_at = 0.0
        self._last_call: float | None = None
        # What the client did, for the run's record.
        self.requests = 0
        self.retries = 0
        self.tokens = 0
        self.token_refreshes = 0  # fresh tokens taken because a data call answered 401

    @classmethod
    def from_settings(cls, settings: ActionsSettings, http: httpx.AsyncClient) -> AidesTerritoiresClient:
        if settings.aides_territoires_api_key is None:
            raise AidesTerritoiresRefused(
                "no Aides-territoires API key: set PLANECO_ACTIONS_AIDES_TERRITOIRES_API_KEY"
            )
        return cls(
            http,
            base_url=str(settings.aides_territoires_url),
            api_key=settings.aides_territoires_api_key,
            timeout=settings.aides_territoires_timeout,
            pause=settings.aides_territoires_pause,
            attempts=settings.aides_territoires_attempts,
            backoff=settings.aides_territoires_backoff,
        )

    async def aid_pages(self, path: str = "/api/aids/all/", params: Params = ()) -> AsyncIterator[AidsPage]:
        """Every page of an aid list, in order, 100 records a page; page URLs built here from `params`."""
        first = await self._page(path, params, 1)
        count = _count(first, path)
        pages = max(1, math.ceil(count / PAGE_SIZE))
        yield AidsPage(1, pages, count, _results(first, path))
        for number in range(2, pages + 1):
            body = await self._page(path, params, number)
            results = _results(body, path)
            yield AidsPage(number, pages, count, results)
            if not results:  # the list shrank since page 1: nothing further
                return

    async def perimeters(self, params: Params = ()) -> list[dict[str, Any]]:
        """Every perimeter `/api/perimeters/` answers for `params` (`scale`, `q`, `insees`…)."""
        found: list[dict[str, Any]] = []
        number, pages = 1, 1
        while number <= pages:
            body = await self._page("/api/perimeters/", params, number)
            pages = max(1, math.ceil(_count(body, "/api/perimeters/") / PAGE_SIZE))
            found.extend(r for r in _results(body, "/api/perimeters/") if isinstance(r, dict))
            number += 1
        return found

    async def _page(self, path: str, params: Params, number: int) -> Any:
        query = [*params, ("itemsPerPage", str(PAGE_SIZE)), ("page", str(number))]
        return await self.get_json(path, query)

    async def get_json(self, path: str, params: Params = ()) -> Any:
        """GET a data route with the Bearer token: on a 401, one fresh token and one retry."""
        for attempt in (1, 2):
            token = await self._current_token()
            response = await self._send(
                "GET", path, params=params, headers={"Authorization": f"Bearer {token}"}
            )
            if response.status_code == 401 and attempt == 1:
                logger.info("aides-territoires token refused, taking a fresh one", path=path)
                self._token = None
                self.token_refreshes += 1
                continue
            return _json(response, path)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _current_token(self) -> str:
        if self._token is None or time.time() >= self._token_renew_at:
            self._token = await self._exchange_key()
        return self._token

    async def _exchange_key(self) -> str:
        # The key goes in this one request's header, and only here.
        headers = {"X-AUTH-TOKEN": self._api_key.get_secret_value()}
        response = await self._send("POST", "/api/connexion/", headers=headers)
        if response.status_code == 401:
            raise AidesTerritoiresRefused("Aides-territoires refused the API key (401 at /api/connexion/)")
        body = _json(response, "/api/connexion/")
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise AidesTerritoiresError("Aides-territoires answered /api/connexion/ without a token")
        self.tokens += 1
        self._token_renew_at = _renew_at(token)
        return token

    async def _send(
        self, method: str, path: str, *, params: Params = (), headers: Mapping[str, str]
    ) -> httpx.Response:
        """One call, retried with backoff while the failure is transient; any other answer returned."""
        url = f"{self.base_url}{path}"
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=MAX_BACKOFF_SECONDS),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
            before_sleep=self._before_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._wait_turn()
                    self.requests += 1
                    try:
                        response = await self.http.request(
                            method, url, params=list(params), headers=dict(headers), timeout=self.timeout
                        )
                    except httpx.TransportError as error:  # connection refused or lost, timeouts
                        raise _Transient(f"{type(error).__name__}") from error
                    if response.status_code == 429 or response.status_code >= 500:
                        raise _Transient(f"HTTP {response.status_code}")
                    return response
        except _Transient as error:
            raise AidesTerritoiresUnavailable(
                f"{method} {path} ({_describe(params)}): {error.description} after {self.attempts} attempts"
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _wait_turn(self) -> None:
        now = time.monotonic()
        if self._last_call is not None and (delay := self._last_call + self.pause - now) > 0:
            await asyncio.sleep(delay)
        self._last_call = time.monotonic()

    def _before_retry(self, state: Any) -> None:
        self.retries += 1
        outcome = state.outcome.exception() if state.outcome else None
        logger.warning(
            "aides-territoires call failed, retrying",
            failure=getattr(outcome, "description", None),
            attempt=state.attempt_number,
            wait_seconds=round(state.next_action.sleep, 2) if state.next_action else None,
        )


def _renew_at(token: str) -> float:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
        expires = float(claims["exp"])
    except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
        return time.time() + FALLBACK_TOKEN_SECONDS
    return expires - TOKEN_MARGIN_SECONDS


def _describe(params: Params) -> str:
    return "&".join(f"{k}={v}" for k, v in params) or "no parameters"


def _json(response: httpx.Response, path: str) -> Any:
    if response.status_code != 200:
        raise AidesTerritoiresRefused(f"Aides-territoires answered {response.status_code} to {path}")
    try:
        return response.json()
    except ValueError as error:
        raise AidesTerritoiresError(
            f"Aides-territoires answered {path} with something that is not JSON"
        ) from error


def _count(body: Any, path: str) -> int:
    count = body.get("count") if isinstance(body, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise AidesTerritoiresError(f"Aides-territoires answered {path} without a count")
    return count


def _results(body: Any, path: str) -> list[Any]:
    results = body.get("results") if isinstance(body, dict) else None
    if not isinstance(results, list):
        raise AidesTerritoiresError(f"Aides-territoires answered {path} without results")
    return results
