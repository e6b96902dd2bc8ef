"""Base of the service clients.

The caller's identity forwarded, retries only when the call is idempotent; timeouts are those of
the shared httpx client the app creates."""

from __future__ import annotations

from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from planeco_shared.identity import IDENTITY_HEADER, Principal, encode_identity
from planeco_shared.problems import NotFound, ServiceUnavailable
from planeco_shared.request_id import current_request_id

ModelT = TypeVar("ModelT", bound=BaseModel)


class ClientModel(BaseModel):
    """What a consumer reads of another service's resource: only the fields it needs, the rest ignored,
    so that the owner can add fields without breaking its consumers."""

    model_config = ConfigDict(extra="ignore", frozen=True)


_RETRYABLE = (httpx.ConnectError, httpx.ReadTimeout, httpx.RemoteProtocolError)


class ServiceClient:
    """Wraps a shared `httpx.AsyncClient` (created in the app lifespan) for one upstream service."""

    service: str = "service"

    def __init__(
        self, http: httpx.AsyncClient, *, base_url: str, internal_secret: str, attempts: int = 3
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._secret = internal_secret
        self._attempts = attempts

    def _headers(self, principal: Principal) -> dict[str, str]:
        headers = {IDENTITY_HEADER: encode_identity(principal, self._secret)}
        request_id = current_request_id()
        if request_id:
            headers["x-request-id"] = request_id
        return headers

    async def get_model(
        self, model: type[ModelT], path: str, *, principal: Principal, params: dict[str, Any] | None = None
    ) -> ModelT:
        """GET and validate the answer into `model` (which ignores fields it does not name)."""
        return model.model_validate(await self.get_json(path, principal=principal, params=params))

    async def get_json(self, path: str, *, principal: Principal, params: dict[str, Any] | None = None) -> Any:
        """GET is idempotent: retried with backoff on connection failures and timeouts."""
        url = self._base_url + path
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._attempts),
                wait=wait_exponential(multiplier=0.05, max=1.0),
                retry=retry_if_exception_type(_RETRYABLE),
                reraise=True,
            ):
                with attempt:
                    response = await self._http.get(url, params=params, headers=self._headers(principal))
        except httpx.HTTPError as exc:
            raise ServiceUnavailable(f"The {self.service} service cannot be reached") from exc
        if response.status_code == 404:
            raise NotFound(f"Not found in the {self.service} service: {path}")
        if response.status_code >= 400:
            raise ServiceUnavailable(f"The {self.service} service answered {response.status_code}")
        return response.json()
