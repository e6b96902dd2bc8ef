"""The gateway against real services on loopback: routing, authentication, identity propagation,
upstream failures, CORS, health and the merged contract."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from planeco_shared.identity import IDENTITY_HEADER, AuthMethod, Principal, Role, encode_identity
from planeco_shared.testing import TEST_SECRET
from planeco_shared.testing import assert_problem as problem

ACTION = {
    "title": "Plan vélo régional",
    "territory": {"level": "region", "code": "24"},
    "carriers": [{"kind": "collectivite", "territory": {"level": "region", "code": "24"}}],
    "estimated_cost_eur": "1000.00",
}


async def test_health_reports_every_service(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "services": {"levers": "ok", "diagnostic": "ok", "actions": "ok"},
    }


async def test_unknown_routes_are_404_problems(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        for path in ("/api/v1/does-not-exist", "/api/v2/actions", "/nothing-here", "/api/v1/actions/x/y/z"):
            body = problem(await client.get(path), 404)
            assert body["code"] == "not-found"


async def test_write_without_credentials_is_401(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        response = await client.post("/api/v1/actions", json=ACTION)
    assert problem(response, 401)["code"] == "unauthorized"
    assert "www-authenticate" in response.headers


async def test_admin_key_writes_and_reads(gateway: str, make_key) -> None:  # type: ignore[no-untyped-def]
    key = await make_key("admin")
    async with httpx.AsyncClient(base_url=gateway, headers={"X-API-Key": key}) as client:
        created = await client.post("/api/v1/actions", json=ACTION)
        assert created.status_code == 201, created.text
        action = created.json()
        assert action["created_by"].startswith("apikey:")
        read = await client.get(f"/api/v1/actions/{action['id']}")
        assert read.status_code == 200
        assert read.json() == action
        assert read.headers["etag"] == created.headers["etag"]


async def test_unknown_or_malformed_keys_are_401(gateway: str, make_key) -> None:  # type: ignore[no-untyped-def]
    real = await make_key("admin")
    forged = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    async with httpx.AsyncClient(base_url=gateway) as client:
        for key in (forged, "planeco_0000000000000000_" + "x" * 43, "not-a-key", ""):
            response = await client.get("/api/v1/actions", headers={"X-API-Key": key})
            assert problem(response, 401)["code"] == "unauthorized", key


async def test_keys_are_scoped_by_role_and_territory(gateway: str, make_key) -> None:  # type: ignore[no-untyped-def]
    centre = await make_key("coordinator", "24")
    reader = await make_key("reader")
    async with httpx.AsyncClient(base_url=gateway) as client:
        own = await client.post("/api/v1/actions", json=ACTION, headers={"X-API-Key": centre})
        assert own.status_code == 201
        other = await client.post(
            "/api/v1/actions",
            json=ACTION | {"territory": {"level": "region", "code": "76"}},
            headers={"X-API-Key": centre},
        )
        assert problem(other, 403)["code"] == "forbidden"
        read_only = await client.post("/api/v1/actions", json=ACTION, headers={"X-API-Key": reader})
        problem(read_only, 403)
        assert (await client.get("/api/v1/actions", headers={"X-API-Key": reader})).status_code == 200


async def test_public_reads_need_no_credentials(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        response = await client.get("/api/v1/territories/regions")
    assert response.status_code == 200


async def test_a_forged_identity_header_from_a_client_is_ignored(gateway: str) -> None:
    forged = encode_identity(
        Principal(subject="evil", role=Role.admin, method=AuthMethod.api_key), TEST_SECRET
    )
    async with httpx.AsyncClient(base_url=gateway) as client:
        response = await client.post("/api/v1/actions", json=ACTION, headers={IDENTITY_HEADER: forged})
    problem(response, 401)


async def test_bearer_token_from_the_identity_provider(gateway: str, identity_provider) -> None:  # type: ignore[no-untyped-def]
    token = identity_provider.token()
    async with httpx.AsyncClient(base_url=gateway, headers={"Authorization": f"Bearer {token}"}) as client:
        # A ProConnect agent contributes for the collectivité of its SIRET: reads allowed, région writes not.
        assert (await client.get("/api/v1/actions")).status_code == 200
        problem(await client.post("/api/v1/actions", json=ACTION), 403)


async def test_bad_bearer_tokens_are_401(gateway: str, identity_provider) -> None:  # type: ignore[no-untyped-def]
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    bad = {
        "expired": identity_provider.token(exp=now - 3600, iat=now - 7200),
        "wrong signature": identity_provider.token(key=other_key),
        "unknown kid": identity_provider.token(kid="rotated-away"),
        "wrong issuer": identity_provider.token(iss="https://evil.example"),
        "wrong audience": identity_provider.token(aud="someone-else"),
        "alg none": jwt.encode({"sub": "x", "iss": "y"}, key=None, algorithm="none"),
        "hs256 token": jwt.encode({"sub": "x"}, "a-shared-secret-long-enough-for-hs256!", algorithm="HS256"),
        "garbage": "not.a.jwt",
    }
    async with httpx.AsyncClient(base_url=gateway) as client:
        for case, token in bad.items():
            response = await client.get("/api/v1/actions", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, case
        basic = await client.get("/api/v1/actions", headers={"Authorization": "Basic dXNlcjpwYXNz"})
        problem(basic, 401)


async def test_request_id_is_echoed_and_propagated(gateway: str, make_key) -> None:  # type: ignore[no-untyped-def]
    key = await make_key("admin")
    request_id = f"trace-{uuid.uuid4().hex}"
    async with httpx.AsyncClient(base_url=gateway, headers={"X-API-Key": key}) as client:
        response = await client.get(f"/api/v1/actions/{uuid.uuid4()}", headers={"X-Request-ID": request_id})
        body = problem(response, 404)
        assert response.headers["x-request-id"] == request_id
        assert body["request_id"] == request_id  # the service saw the same id
        generated = await client.get("/api/v1/actions")
        assert len(generated.headers["x-request-id"]) == 32


async def test_cors_preflight_for_configured_origin(gateway: str) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        allowed = await client.options(
            "/api/v1/actions",
            headers={
                "Origin": "https://cop.example.fr",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-api-key, content-type",
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://cop.example.fr"
        refused = await client.options(
            "/api/v1/actions",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in refused.headers


async def test_down_and_slow_services_answer_503_and_504_while_others_work(degraded_gateway: str) -> None:
    async with httpx.AsyncClient(base_url=degraded_gateway, timeout=10) as client:
        health = (await client.get("/healthz")).json()
        assert health["status"] == "degraded"
        assert health["services"]["diagnostic"] == "down"
        assert health["services"]["levers"] == "ok"

        assert problem(await client.get("/api/v1/questionnaires"), 503)["code"] == "service-unavailable"

        # The upstream answers after 30 s, the client gives up after 10: a 504 is the gateway's own 0.5 s.
        assert problem(await client.get("/api/v1/actions"), 504)["code"] == "gateway-timeout"

        assert (await client.get("/api/v1/territories/regions")).status_code == 200


WELL_FORMED_KEY = "planeco_0123456789abcdef_" + "k" * 43  # looked up in the database, unlike a malformed one


async def test_a_lost_gateway_database_is_a_503_for_key_checks_only(gateway_without_database: str) -> None:
    async with httpx.AsyncClient(base_url=gateway_without_database) as client:
        checked = await client.get("/api/v1/actions", headers={"X-API-Key": WELL_FORMED_KEY})
        body = problem(checked, 503)
        assert body["code"] == "service-unavailable" and checked.headers["retry-after"] == "1"
        assert (await client.get("/api/v1/territories/regions")).status_code == 200  # no key: no lookup


async def test_the_merged_contract_is_served_and_matches_the_checked_in_one(gateway: str) -> None:
    from planeco.contract import CONTRACT_PATH

    async with httpx.AsyncClient(base_url=gateway) as client:
        served = (await client.get("/openapi.json")).json()
        docs = await client.get("/docs")
    import json

    assert served == json.loads(CONTRACT_PATH.read_text(encoding="utf-8"))
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_metrics_are_served_on_the_internal_listener_only(
    gateway: str, gateway_metrics_url: str
) -> None:
    async with httpx.AsyncClient(base_url=gateway) as client:
        await client.get("/api/v1/territories/regions")
        public = await client.get("/metrics")
        metrics = await client.get(gateway_metrics_url)
    assert problem(public, 404)["code"] == "not-found"
    assert metrics.status_code == 200
    assert 'planeco_gateway_forwarded_total{service="levers",status="200"}' in metrics.text


async def test_grants_give_identity_provider_users_wider_rights(  # type: ignore[no-untyped-def]
    gateway: str, identity_provider, databases: dict[str, str]
) -> None:
    from planeco_gateway.grants.service import grant
    from planeco_shared.database import create_engine, create_sessionmaker

    email = f"coordination-{uuid.uuid4().hex[:8]}@centre-valdeloire.fr"
    engine = create_engine(databases["gateway"])
    try:
        async with create_sessionmaker(engine).begin() as session:
            await grant(
                session, email=email.upper(), role=Role.coordinator, territory="24", created_by="test"
            )
    finally:
        await engine.dispose()
    token = identity_provider.token(email=email, sub=f"agent-{uuid.uuid4().hex[:8]}", siret="23450002300028")
    async with httpx.AsyncClient(base_url=gateway, headers={"Authorization": f"Bearer {token}"}) as client:
        created = await client.post("/api/v1/actions", json=ACTION)
        assert created.status_code == 201, created.text
        assert created.json()["created_by"].startswith("oidc:agent-")
        problem(
            await client.post(
                "/api/v1/actions", json=ACTION | {"territory": {"level": "region", "code": "76"}}
            ),
            403,
        )


async def test_the_jobs_area_is_routed_by_its_second_segment(gateway: str, make_key) -> None:  # type: ignore[no-untyped-def]
    """/api/v1/jobs/<service>/… goes to that service: each answers for its own jobs only."""
    admin = await make_key("admin")
    async with httpx.AsyncClient(base_url=gateway, headers={"X-API-Key": admin}) as client:
        levers = await client.get("/api/v1/jobs/levers")
        assert levers.status_code == 200, levers.text
        assert "reference-data" in [job["name"] for job in levers.json()["items"]]
        actions = (await client.get("/api/v1/jobs/actions")).json()["items"]
        assert [job["name"] for job in actions] == ["sync-aids", "purge-idempotency-keys"]
        diagnostic = (await client.get("/api/v1/jobs/diagnostic")).json()["items"]
        assert [job["name"] for job in diagnostic] == [
            "import-default-questionnaire",
            "purge-idempotency-keys",
            "send-mail",
            "campaign-reminders",
        ]
        jobs = {
            "diagnostic": {job["name"] for job in diagnostic},
            "actions": {job["name"] for job in actions},
        }
        for service in ("diagnostic", "actions"):
            runs = await client.get(f"/api/v1/jobs/{service}/runs")
            assert runs.status_code == 200, runs.text
            # Each service lists the runs of its own jobs only (other tests of the session may have run some).
            assert {run["job"] for run in runs.json()["items"]} <= jobs[service]
        problem(await client.get("/api/v1/jobs/levers/runs/not-a-uuid"), 422)
        for path in ("/api/v1/jobs", "/api/v1/jobs/", "/api/v1/jobs/gateway", "/api/v1/jobs/nope/runs"):
            problem(await client.get(path), 404)
    coordinator = await make_key("coordinator", "24")
    async with httpx.AsyncClient(base_url=gateway, headers={"X-API-Key": coordinator}) as client:
        problem(await client.get("/api/v1/jobs/levers/runs"), 403)


async def test_published_actions_are_read_without_credentials(gateway: str, make_key) -> None:  # type: ignore[no-untyped-def]
    centre = await make_key("coordinator", "24")
    async with httpx.AsyncClient(base_url=gateway) as client:
        published = await client.post(
            "/api/v1/actions", json=ACTION | {"published": True}, headers={"X-API-Key": centre}
        )
        assert published.status_code == 201, published.text
        one = await client.get(f"/api/v1/published-actions/{published.json()['id']}")
        assert one.status_code == 200, one.text
        assert one.json()["territory"] == {"level": "region", "code": "24", "name": "Centre-Val de Loire"}
        listed = await client.get("/api/v1/published-actions", params={"region": "24", "page_size": 500})
        assert published.json()["id"] in {item["id"] for item in listed.json()["items"]}
        problem(await client.get("/api/v1/actions"), 401)  # the actions themselves need credentials
