"""The Aides-territoires client against the fake server running as its own process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from planeco_actions.aids.client import (
    AidesTerritoiresClient,
    AidesTerritoiresRefused,
    AidesTerritoiresUnavailable,
)
from planeco_actions.settings import ActionsSettings
from planeco_shared.testing import unused_port


@pytest_asyncio.fixture(loop_scope="session")
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def client_for(http: httpx.AsyncClient, url: str, key: str, *, attempts: int = 3) -> AidesTerritoiresClient:
    return AidesTerritoiresClient(
        http, base_url=url, api_key=SecretStr(key), pause=0, attempts=attempts, backoff=0.001
    )


async def scan(client: AidesTerritoiresClient) -> list[Any]:
    return [record async for page in client.aid_pages() for record in page.results]


async def test_a_scan_reads_every_page_of_100_with_one_token(fake: Any, http: httpx.AsyncClient) -> None:
    client = client_for(http, fake.url, fake.api_key)
    pages = [page async for page in client.aid_pages()]
    assert [(p.number, p.pages, p.count, len(p.results)) for p in pages] == [
        (1, 3, 230, 100),
        (2, 3, 230, 100),
        (3, 3, 230, 30),
    ]
    assert len({r["id"] for p in pages for r in p.results}) == 230
    stats = await fake.stats()
    assert (stats["connexion"], stats["tokens_issued"], stats["aid_pages"]) == (1, 1, 3)
    assert stats.get("x_auth_token_on_data", 0) == 0  # the key went to /api/connexion/ only
    assert (client.tokens, client.token_refreshes, client.retries) == (1, 0, 0)


async def test_a_token_refused_mid_run_is_renewed_once_and_the_call_retried(
    fake: Any, http: httpx.AsyncClient
) -> None:
    await fake.quirks(token_uses=1)  # each token is refused as expired after one data call
    client = client_for(http, fake.url, fake.api_key)
    assert len(await scan(client)) == 230
    assert (client.tokens, client.token_refreshes) == (3, 2)
    stats = await fake.stats()
    assert (stats["tokens_issued"], stats["expired"]) == (3, 2)

    await fake.quirks(token_uses=0)  # every token refused: one fresh token, then an error
    refused = client_for(http, fake.url, fake.api_key)
    with pytest.raises(AidesTerritoiresRefused, match="401"):
        await scan(refused)
    assert (refused.tokens, refused.token_refreshes) == (2, 1)


@pytest.mark.parametrize("status", [500, 503, 429])
async def test_transient_failures_are_retried_with_backoff(
    fake: Any, http: httpx.AsyncClient, status: int
) -> None:
    await fake.quirks(error_every=2, error_status=status)
    client = client_for(http, fake.url, fake.api_key)
    assert len(await scan(client)) == 230
    assert client.retries == (await fake.stats())["errors_served"] >= 1


async def test_an_outage_that_outlasts_the_retries_is_an_error(fake: Any, http: httpx.AsyncClient) -> None:
    await fake.quirks(fail_from_page=2)
    client = client_for(http, fake.url, fake.api_key, attempts=3)
    pages = client.aid_pages()
    assert (await anext(pages)).number == 1
    with pytest.raises(AidesTerritoiresUnavailable, match=r"page=2\): HTTP 500 after 3 attempts"):
        await anext(pages)
    assert client.requests == 1 + 1 + 3  # the token, page 1, three tries of page 2


async def test_a_refused_key_or_an_unreachable_server_says_so_without_the_key(
    fake: Any, http: httpx.AsyncClient
) -> None:
    wrong_key = "0123456789abcdef" * 4
    with pytest.raises(AidesTerritoiresRefused) as refused:
        await scan(client_for(http, fake.url, wrong_key))
    assert "refused the API key" in str(refused.value)
    assert wrong_key not in str(refused.value)
    down = client_for(http, f"http://127.0.0.1:{unused_port()}", fake.api_key, attempts=2)
    with pytest.raises(AidesTerritoiresUnavailable, match="ConnectError after 2 attempts"):
        await scan(down)


async def test_perimeters_and_settings(fake: Any, http: httpx.AsyncClient) -> None:
    client = client_for(http, fake.url, fake.api_key)
    regions = await client.perimeters([("scale", "region")])
    assert len(regions) == 18 and {"24", "76", "84"} <= {r["code"] for r in regions}
    communes = await client.perimeters([("scale", "commune"), ("q", "saint")])  # several pages of 100
    assert len(communes) > 100 and len({c["code"] for c in communes}) == len(communes)
    settings = ActionsSettings(aides_territoires_api_key=SecretStr(fake.api_key))
    assert str(settings.aides_territoires_url) == "https://aides-territoires.beta.gouv.fr/"
    assert fake.api_key not in repr(settings)
    with pytest.raises(AidesTerritoiresRefused, match="AIDES_TERRITOIRES_API_KEY"):
        AidesTerritoiresClient.from_settings(ActionsSettings(), http)
