"""HTTP behaviour at the edge, through the real gateway in front of the real services on loopback:
trailing slashes, CORS preflight, HEAD, response headers, credentials, request ids, compression and
what the services serve to a caller that bypasses the gateway."""

from __future__ import annotations

import gzip
import json
import uuid
from typing import Any

import httpx

from planeco_shared.identity import IDENTITY_HEADER
from planeco_shared.runtime import service_principal
from planeco_shared.testing import TEST_SECRET
from planeco_shared.testing import assert_problem as problem

ACTION = {
    "title": "Plan vélo régional",
    "territory": {"level": "region", "code": "24"},
    "carriers": [{"kind": "autre", "name": "Région"}],
}
ORIGIN = "https://cop.example.fr"


async def test_a_trailing_slash_is_a_404_problem_and_never_a_redirect(
    gateway: str, upstreams: dict[str, str], make_key: Any
) -> None:
    key = await make_key("admin")
    async with httpx.AsyncClient(base_url=gateway, headers={"X-API-Key": key}) as client:
        for path in ("/api/v1/territories/regions/", "/api/v1/actions/", "/docs/", "/healthz/"):
            response = await client.get(path)
            assert problem(response, 404)["code"] == "not-found", path
            assert "location" not in response.headers
        direct = await httpx.AsyncClient().get(upstreams["levers"] + "/api/v1/territories/regions/")
    problem(direct, 404)
    assert "location" not in direct.headers


async def test_preflight_is_answered_by_the_gateway_allowed_or_refused(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        allowed = await client.options(
            "/api/v1/actions",
            headers={
                "Origin": ORIGIN,
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "x-api-key, if-match, content-type",
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == ORIGIN
        assert "PATCH" in allowed.headers["access-control-allow-methods"]
        refused = await client.options(
            "/api/v1/actions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        body = problem(refused, 403)
        assert body["code"] == "forbidden" and "origin" in body["detail"]
        assert "access-control-allow-origin" not in refused.headers
        # A simple cross-origin read gets the CORS header too.
        read = await client.get("/api/v1/territories/regions", headers={"Origin": ORIGIN})
        assert read.headers["access-control-allow-origin"] == ORIGIN


async def test_head_is_served_for_get_routes(gateway: str, make_key: Any) -> None:
    key = await make_key("reader")
    async with httpx.AsyncClient(base_url=gateway) as client:
        for path, headers in (
            ("/api/v1/territories/regions/24", {}),
            ("/api/v1/actions", {"X-API-Key": key}),
            ("/healthz", {}),
            ("/openapi.json", {}),
        ):
            get = await client.get(path, headers=headers | {"Accept-Encoding": "identity"})
            head = await client.head(path, headers=headers | {"Accept-Encoding": "identity"})
            assert get.status_code == head.status_code == 200, (path, head.status_code)
            assert head.content == b""
            assert head.headers.get("etag") == get.headers.get("etag"), path
            assert head.headers["content-type"] == get.headers["content-type"]


async def test_response_headers_for_authenticated_and_public_reads(gateway: str, make_key: Any) -> None:
    key = await make_key("reader")
    async with httpx.AsyncClient(base_url=gateway) as client:
        private = await client.get("/api/v1/actions", headers={"X-API-Key": key})
        public = await client.get("/api/v1/territories/regions/24")
        missing = await client.get("/api/v1/nowhere")
        health = await client.get("/healthz")
    assert private.status_code == 200
    assert private.headers["cache-control"] == "no-store"
    assert {"Authorization", "X-API-Key"} <= {v.strip() for v in private.headers["vary"].split(",")}
    for response in (private, public, missing, health):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "server" not in response.headers
    assert public.headers["cache-control"] == "public, max-age=300, must-revalidate"
    assert public.headers["etag"].startswith('"')
    assert missing.headers["cache-control"] == "no-store"


async def test_ambiguous_credentials_are_refused(gateway: str, make_key: Any) -> None:
    reader = await make_key("reader")
    bad = "planeco_0000000000000000_" + "x" * 43
    async with httpx.AsyncClient(base_url=gateway) as client:
        for headers in (
            [("X-API-Key", bad), ("X-API-Key", reader)],  # the last one used to win
            [("X-API-Key", reader), ("X-API-Key", reader)],
            [("X-API-Key", reader), ("Authorization", "Bearer x.y.z")],
            [("Authorization", "Bearer a.b.c"), ("Authorization", "Bearer x.y.z")],
        ):
            response = await client.get("/api/v1/actions", headers=headers)
            assert problem(response, 400)["code"] == "bad-request", headers
        assert (await client.get("/api/v1/actions", headers={"X-API-Key": reader})).status_code == 200


async def test_an_odd_request_id_is_replaced_before_it_reaches_the_audit(gateway: str, make_key: Any) -> None:
    key = await make_key("admin")
    async with httpx.AsyncClient(base_url=gateway, headers={"X-API-Key": key}) as client:
        for odd in ("x" * 129, "a b", "id\u00e9", "<script>", "a;b"):
            raw = odd.encode("utf-8")
            created = await client.post("/api/v1/actions", json=ACTION, headers=[(b"X-Request-ID", raw)])
            assert created.status_code == 201, created.text
            generated = created.headers["x-request-id"]
            assert generated != odd and len(generated) == 32 and generated.isalnum()
            history = await client.get(f"/api/v1/actions/{created.json()['id']}/history")
            assert [entry["request_id"] for entry in history.json()["items"]] == [generated]
        sane = f"trace-{uuid.uuid4().hex}"
        kept = await client.post("/api/v1/actions", json=ACTION, headers={"X-Request-ID": sane})
        history = await client.get(f"/api/v1/actions/{kept.json()['id']}/history")
        assert kept.headers["x-request-id"] == sane
        assert history.json()["items"][0]["request_id"] == sane


EPCI_DECLINATION = "/api/v1/panoramas/2024-07-24/regions/84/epcis"


async def test_large_reads_are_gzipped_when_the_client_accepts_it(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        plain = await client.get(EPCI_DECLINATION, headers={"Accept-Encoding": "identity"})
        async with client.stream("GET", EPCI_DECLINATION, headers={"Accept-Encoding": "gzip"}) as zipped:
            raw = b"".join([chunk async for chunk in zipped.aiter_raw()])
        small = await client.get("/api/v1/territories/regions/24", headers={"Accept-Encoding": "gzip"})
        again = await client.get(
            EPCI_DECLINATION, headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["etag"]}
        )
    assert plain.status_code == zipped.status_code == 200
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert len(raw) < len(plain.content) / 4
    assert json.loads(gzip.decompress(raw)) == plain.json()
    assert "Accept-Encoding" in ", ".join(zipped.headers.get_list("vary"))  # caches key on it
    # Two representations, two strong tags (RFC 9110 §8.8.3), told apart by Vary.
    assert zipped.headers["etag"] == plain.headers["etag"].removesuffix('"') + '-gzip"'
    assert again.status_code == 304
    assert "content-encoding" not in small.headers  # under 1 KiB: not worth it


async def test_services_answer_their_contract_and_docs_to_planeco_processes_only(
    upstreams: dict[str, str],
) -> None:
    from planeco_gateway.auth.authenticator import Authenticator

    signed = Authenticator(internal_secret=TEST_SECRET, cache_seconds=0, oidc=None).identity_token(
        service_principal("gateway")
    )
    async with httpx.AsyncClient() as client:
        for url in upstreams.values():
            assert problem(await client.get(url + "/openapi.json"), 401)["code"] == "unauthorized"
            document = await client.get(url + "/openapi.json", headers={IDENTITY_HEADER: signed})
            assert document.status_code == 200 and document.json()["paths"]
            problem(await client.get(url + "/docs", headers={IDENTITY_HEADER: signed}), 404)
            assert "server" not in (await client.get(url + "/healthz")).headers
