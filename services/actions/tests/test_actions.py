"""COP actions through the HTTP API: validation, scope, optimistic concurrency, audit history."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco_actions.app import create_app
from planeco_actions.settings import ActionsSettings
from planeco_shared.testing import asgi_client, identity_headers, isolated, settings_for_tests, unused_port

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
OCCITANIE = identity_headers("coordinator", "76")

HEDGES = {
    "title": "Plan régional de plantation de haies",
    "territory": {"level": "region", "code": "24"},
    "lever_id": "augm_haies",
    "carriers": [
        {"kind": "collectivite", "territory": {"level": "region", "code": "24"}, "role": "pilote"},
        {"kind": "autre", "name": "Chambre d'agriculture"},
    ],
    "start_date": "2025-01-01",
    "end_date": "2030-12-31",
    "estimated_cost_eur": "1250000.50",
    "impacts": [{"lever_id": "augm_haies", "ktco2e": "12.3456"}],
}
CARRIERS_READ = [
    {
        "kind": "collectivite",
        "territory": {"level": "region", "code": "24", "name": "Centre-Val de Loire"},
        "name": "Centre-Val de Loire",
        "role": "pilote",
    },
    {"kind": "autre", "territory": None, "name": "Chambre d'agriculture", "role": ""},
]


async def create(
    client: httpx.AsyncClient, headers: dict[str, str] = CENTRE, **overrides: object
) -> httpx.Response:
    if "region" in overrides:
        overrides["territory"] = {"level": "region", "code": overrides.pop("region")}
    if "lever_id" in overrides and "impacts" not in overrides:
        overrides["impacts"] = []  # HEDGES' impact is on its own lever
    return await client.post("/api/v1/actions", json=HEDGES | overrides, headers=headers)


async def test_coordinator_creates_and_reads_an_action_of_their_region(client: httpx.AsyncClient) -> None:
    created = await create(client)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["region"] == "24"
    assert body["territory"] == {"level": "region", "code": "24", "name": "Centre-Val de Loire"}
    assert body["departement"] is None
    assert body["carriers"] == CARRIERS_READ
    assert (body["start_date"], body["end_date"], body["status"]) == ("2025-01-01", "2030-12-31", "proposee")
    assert body["estimated_cost_eur"] == "1250000.50"
    assert body["expected_impact_ktco2e"] == "12.3456"
    assert body["revision"] == 1
    assert created.headers["location"] == f"/api/v1/actions/{body['id']}"

    read = await client.get(f"/api/v1/actions/{body['id']}", headers=CENTRE)
    assert read.status_code == 200
    assert read.json() == body
    assert read.headers["etag"] == created.headers["etag"]
    assert (
        await client.get(f"/api/v1/actions/{body['id']}", headers=identity_headers("reader"))
    ).json() == body


async def test_coordinator_cannot_write_for_another_region(client: httpx.AsyncClient) -> None:
    response = await create(client, headers=OCCITANIE)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "forbidden"
    listed = await client.get("/api/v1/actions", headers=ADMIN)
    assert listed.json()["total"] == 0


async def test_readers_and_contributors_cannot_create(client: httpx.AsyncClient) -> None:
    for headers in (identity_headers("reader"), identity_headers("contributor", "200000172")):
        assert (await create(client, headers=headers)).status_code == 403


async def test_invalid_input_is_a_problem_with_field_errors_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    response = await create(
        client, title="", start_date="2031-01-01", end_date="2025-01-01", estimated_cost_eur="-3", unknown=1
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation-error"
    locations = {tuple(e["loc"]) for e in problem["errors"]}
    assert ("body", "title") in locations
    assert ("body", "estimated_cost_eur") in locations
    assert ("body", "unknown") in locations
    assert (await client.get("/api/v1/actions", headers=ADMIN)).json()["total"] == 0


async def test_malformed_json_is_a_problem(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/actions", content=b"{not json", headers=CENTRE | {"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_update_needs_if_match_and_refuses_a_stale_etag(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/api/v1/actions/{created.json()['id']}"
    first_etag = created.headers["etag"]

    missing = await client.patch(url, json={"status": "retenue"}, headers=CENTRE)
    assert missing.status_code == 428

    updated = await client.patch(url, json={"status": "retenue"}, headers=CENTRE | {"if-match": first_etag})
    assert updated.status_code == 200, updated.text
    assert updated.json()["revision"] == 2
    assert updated.headers["etag"] != first_etag

    stale = await client.patch(url, json={"status": "realisee"}, headers=CENTRE | {"if-match": first_etag})
    assert stale.status_code == 412
    assert (await client.get(url, headers=CENTRE)).json()["status"] == "retenue"


async def test_update_keeps_the_calendar_consistent(client: httpx.AsyncClient) -> None:
    created = await create(client)
    assert created.status_code == 201, created.text
    url = f"/api/v1/actions/{created.json()['id']}"
    response = await client.patch(
        url, json={"end_year": 2024}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "end_year"]


async def test_null_clears_what_may_be_cleared_and_is_refused_elsewhere(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url, etag = f"/api/v1/actions/{created.json()['id']}", created.headers["etag"]
    for field in ("title", "description", "carriers", "status"):
        refused = await client.patch(url, json={field: None}, headers=CENTRE | {"if-match": etag})
        assert refused.status_code == 422, refused.text
        assert [e["loc"] for e in refused.json()["errors"]] == [["body", field]]
    bad = await client.patch(url, json={"title": "a\u0000bc"}, headers=CENTRE | {"if-match": etag})
    assert [e["loc"] for e in bad.json()["errors"]] == [["body", "title"]]  # one error, no union branches
    assert (await client.get(url, headers=CENTRE)).json() == created.json()  # nothing changed
    cleared = await client.patch(
        url, json={"lever_id": None, "estimated_cost_eur": None}, headers=CENTRE | {"if-match": etag}
    )
    assert [e["loc"] for e in cleared.json()["errors"]] == [["body", "impacts"]]  # an impact on that lever
    cleared = await client.patch(
        url,
        json={"lever_id": None, "estimated_cost_eur": None, "impacts": []},
        headers=CENTRE | {"if-match": etag},
    )
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["lever_id"], cleared.json()["estimated_cost_eur"]) == (None, None)
    assert cleared.json()["carriers"] == CARRIERS_READ


async def test_history_shows_who_changed_what(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/api/v1/actions/{created.json()['id']}"
    await client.patch(
        url, json={"estimated_cost_eur": "900000.00"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    history = (await client.get(f"{url}/history", headers=ADMIN)).json()
    assert history["total"] == 2
    update, creation = history["items"]  # newest first
    assert (update["action"], update["actor"], update["actor_role"]) == (
        "update",
        "test:coordinator:24",
        "coordinator",
    )
    assert update["changes"] == [{"field": "estimated_cost_eur", "old": "1250000.50", "new": "900000.00"}]
    assert (creation["action"], creation["actor"]) == ("create", "test:coordinator:24")
    # The creation's snapshot, null → value, in the order the action is described; JSON values as stored.
    assert [(c["field"], c["old"], c["new"]) for c in creation["changes"]] == [
        ("title", None, HEDGES["title"]),
        ("description", None, ""),
        ("lever_id", None, HEDGES["lever_id"]),
        ("other_lever_ids", None, []),
        ("territory_level", None, "region"),
        ("territory_code", None, "24"),
        ("region_code", None, "24"),
        ("carriers", None, CARRIERS_READ),
        ("partners", None, []),
        ("status", None, "proposee"),
        ("multi_acteurs", None, False),
        ("structurante", None, False),
        ("start_date", None, "2025-01-01"),
        ("end_date", None, "2030-12-31"),
        ("phases", None, []),
        ("estimated_cost_eur", None, "1250000.50"),
        ("budget_lines", None, []),
        ("documents", None, []),
        ("impacts", None, created.json()["impacts"]),
        ("expected_impact_ktco2e", None, "12.3456"),
        ("published", None, False),
    ]
    second = (await client.get(f"{url}/history", params={"page": 2, "page_size": 1}, headers=ADMIN)).json()
    assert (second["total"], [e["action"] for e in second["items"]]) == (2, ["create"])


async def test_list_filters_sorts_and_paginates(client: httpx.AsyncClient) -> None:
    for year in (2027, 2025, 2026):
        assert (await create(client, start_date=f"{year}-03-01", end_date="2030-12-31")).status_code == 201
    assert (await create(client, headers=OCCITANIE, region="76")).status_code == 201

    page = (
        await client.get(
            "/api/v1/actions", params={"region": "24", "sort": "start_date", "page_size": 2}, headers=ADMIN
        )
    ).json()
    assert page["total"] == 3
    assert page["page_size"] == 2
    assert [a["start_date"] for a in page["items"]] == ["2025-03-01", "2026-03-01"]
    second = (
        await client.get(
            "/api/v1/actions",
            params={"region": "24", "sort": "start_date", "page": 2, "page_size": 2},
            headers=ADMIN,
        )
    ).json()
    assert [a["start_date"] for a in second["items"]] == ["2027-03-01"]


async def test_real_sgpe_lever_ids_are_accepted_including_accents(client: httpx.AsyncClient) -> None:
    assert (await create(client, lever_id="augm_vélotc")).status_code == 201
    listed = await client.get("/api/v1/actions", params={"lever_id": "augm_vélotc"}, headers=ADMIN)
    assert listed.json()["total"] == 1
    assert (await create(client, lever_id="Bad Id!")).status_code == 422


async def test_page_size_is_bounded_and_sort_keys_validated(client: httpx.AsyncClient) -> None:
    too_big = await client.get("/api/v1/actions", params={"page_size": 501}, headers=ADMIN)
    assert too_big.status_code == 422
    bad_sort = await client.get("/api/v1/actions", params={"sort": "password"}, headers=ADMIN)
    assert bad_sort.status_code == 422


async def test_calls_without_the_gateway_identity_are_refused(client: httpx.AsyncClient) -> None:
    bypass = await client.get("/api/v1/actions")
    assert bypass.status_code == 401
    assert bypass.json()["code"] == "unauthorized"
    forged = await client.get("/api/v1/actions", headers={"x-planeco-identity": "eyJhbGciOiJub25lIn0.e30."})
    assert forged.status_code == 401
    anonymous = await client.get("/api/v1/actions", headers=identity_headers("anonymous"))
    assert anonymous.status_code == 401


async def test_unknown_action_is_a_404_problem(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/actions/00000000-0000-0000-0000-000000000000", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["code"] == "not-found"
    assert "x-request-id" in response.headers


async def test_unknown_region_and_lever_are_422s_naming_each_field(client: httpx.AsyncClient) -> None:
    response = await create(client, headers=ADMIN, region="99", lever_id="nope")
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "validation-error"
    assert {tuple(e["loc"]): e["type"] for e in problem["errors"]} == {
        ("body", "territory"): "not_found",
        ("body", "lever_id"): "not_found",
    }
    unknown = await create(client, headers=ADMIN, region="99")
    assert unknown.json()["errors"][0]["loc"] == ["body", "territory"]
    assert (await client.get("/api/v1/actions", headers=ADMIN)).json()["total"] == 0


async def test_an_update_to_an_unknown_lever_is_a_422_and_changes_nothing(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url, etag = f"/api/v1/actions/{created.json()['id']}", created.headers["etag"]
    refused = await client.patch(url, json={"lever_id": "nope"}, headers=CENTRE | {"if-match": etag})
    assert refused.status_code == 422
    assert [e["loc"] for e in refused.json()["errors"]] == [["body", "lever_id"]]
    moved = await client.patch(
        url, json={"lever_id": "augm_vélotc", "impacts": []}, headers=CENTRE | {"if-match": etag}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["lever_id"] == "augm_vélotc"


async def test_levers_service_unreachable_is_a_503_and_nothing_is_stored(
    database_url: str, engine: AsyncEngine
) -> None:
    unreachable = f"http://127.0.0.1:{unused_port()}"
    settings = settings_for_tests(ActionsSettings, database_url, levers_url=unreachable)
    app = create_app(settings)
    async with isolated(app, engine), asgi_client(app) as client:
        response = await create(client)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["retry-after"] == "1"
        assert "levers" in response.json()["detail"]
        assert (await client.get("/api/v1/actions", headers=ADMIN)).json()["total"] == 0


async def test_callers_see_the_actions_of_their_regions_only(client: httpx.AsyncClient) -> None:
    """Coordinators and contributors see their région's actions (a contributor's région comes from the
    levers service: Orléans, by INSEE code or SIREN, and Orléans Métropole lie in Centre-Val de Loire)."""
    centre = (await create(client)).json()
    occitanie = (await create(client, headers=OCCITANIE, region="76")).json()

    def ids(response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    everyone = {centre["id"], occitanie["id"]}
    assert ids(await client.get("/api/v1/actions", headers=ADMIN)) == everyone
    assert ids(await client.get("/api/v1/actions", headers=identity_headers("reader"))) == everyone
    assert ids(await client.get("/api/v1/actions", headers=CENTRE)) == {centre["id"]}
    for collectivite in ("45234", "214502346", "244500468", "45"):
        contributor = identity_headers("contributor", collectivite)
        assert ids(await client.get("/api/v1/actions", headers=contributor)) == {centre["id"]}, collectivite
    nowhere = identity_headers("contributor", "999999999")
    assert ids(await client.get("/api/v1/actions", headers=nowhere)) == set()

    for path in ("", "/history"):
        hidden = await client.get(f"/api/v1/actions/{occitanie['id']}{path}", headers=CENTRE)
        assert hidden.status_code == 404, path
    stale = await client.patch(
        f"/api/v1/actions/{occitanie['id']}", json={"status": "retenue"}, headers=CENTRE | {"if-match": "*"}
    )
    assert stale.status_code == 404
    assert (await client.get(f"/api/v1/actions/{occitanie['id']}", headers=OCCITANIE)).json() == occitanie


async def test_if_match_compares_strongly_and_a_412_gives_the_current_etag(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/api/v1/actions/{created.json()['id']}"
    current = created.headers["etag"]
    for sent, says in ((f"W/{current}", "weak"), (current.strip('"'), "double quotes"), ('"old"', "changed")):
        refused = await client.patch(url, json={"status": "retenue"}, headers=CENTRE | {"if-match": sent})
        assert refused.status_code == 412, (sent, refused.text)
        assert refused.headers["etag"] == current
        assert says in refused.json()["detail"]
    assert (await client.get(url, headers=CENTRE)).json()["revision"] == 1


async def test_scope_and_visibility_come_before_the_precondition(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/api/v1/actions/{created.json()['id']}"
    # Another région's coordinator does not see it: 404 with or without If-Match, never 428 or 412.
    for extra in ({}, {"if-match": '"stale"'}):
        assert (
            await client.patch(url, json={"status": "realisee"}, headers=OCCITANIE | extra)
        ).status_code == 404
    # A département's coordinator sees its région's actions but may not change a région's: 403, not 428.
    loiret = identity_headers("coordinator", "departement:45")
    for extra in ({}, {"if-match": '"stale"'}):
        assert (
            await client.patch(url, json={"status": "realisee"}, headers=loiret | extra)
        ).status_code == 403


async def test_decimals_read_back_the_same_from_create_read_and_patch(client: httpx.AsyncClient) -> None:
    """At the column's scale everywhere, never -0, JSON numbers parsed exactly (no float on the way)."""
    body = b'{"title": "Chaleur fatale", "territory": {"level": "region", "code": "24"}, '
    body += b'"estimated_cost_eur": 9999999999999.99, '
    body += b'"lever_id": "augm_haies", "impacts": [{"lever_id": "augm_haies", "ktco2e": 12.5}]}'
    created = await client.post(
        "/api/v1/actions", content=body, headers=CENTRE | {"content-type": "application/json"}
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/actions/{created.json()['id']}"
    figures = ("9999999999999.99", "12.5000")
    read = await client.get(url, headers=CENTRE)
    patched = await client.patch(
        url, json={"title": "Chaleur fatale 2"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    for response in (created, read, patched):
        assert (response.json()["estimated_cost_eur"], response.json()["expected_impact_ktco2e"]) == figures
    # The same value in another spelling is no change (no audit entry, no new version).
    same = await client.patch(
        url,
        json={
            "impacts": [{"lever_id": "augm_haies", "ktco2e": "12.50"}],
            "estimated_cost_eur": 9999999999999.990,
        },
        headers=CENTRE | {"if-match": patched.headers["etag"]},
    )
    assert same.json()["revision"] == 2
    assert [e["action"] for e in (await client.get(url + "/history", headers=CENTRE)).json()["items"]] == [
        "update",
        "create",
    ]
    zero = await create(
        client, estimated_cost_eur="-0.00", impacts=[{"lever_id": "augm_haies", "ktco2e": "-0"}]
    )
    assert (zero.json()["estimated_cost_eur"], zero.json()["expected_impact_ktco2e"]) == ("0.00", "0.0000")
    zero_read = (await client.get(f"/api/v1/actions/{zero.json()['id']}", headers=CENTRE)).json()
    assert (zero_read["estimated_cost_eur"], zero_read["expected_impact_ktco2e"]) == ("0.00", "0.0000")
    # More than 15 significant digits: refused, never silently rounded (SQLite keeps 15).
    for cost in (b"99999999999999.99", b'"99999999999999.99"', b"0.001"):
        too_precise = await client.post(
            "/api/v1/actions",
            content=b'{"title": "Trop", "territory": {"level": "region", "code": "24"}, '
            + b'"estimated_cost_eur": '
            + cost
            + b"}",
            headers=CENTRE | {"content-type": "application/json"},
        )
        assert too_precise.status_code == 422, cost
        assert too_precise.json()["errors"][0]["loc"] == ["body", "estimated_cost_eur"]


async def test_delete_archives_hides_and_restores_with_history(client: httpx.AsyncClient) -> None:
    created = await create(client)
    url = f"/api/v1/actions/{created.json()['id']}"
    assert (await client.delete(url, headers=CENTRE)).status_code == 428
    assert (
        await client.delete(url, headers=OCCITANIE | {"if-match": created.headers["etag"]})
    ).status_code == 404
    loiret = identity_headers("coordinator", "departement:45")
    assert (await client.delete(url, headers=loiret)).status_code == 403
    stale = await client.delete(url, headers=CENTRE | {"if-match": '"stale"'})
    assert (stale.status_code, stale.headers["etag"]) == (412, created.headers["etag"])

    archived = await client.delete(url, headers=CENTRE | {"if-match": created.headers["etag"]})
    assert archived.status_code == 204, archived.text
    assert (await client.get(url, headers=CENTRE)).status_code == 404
    assert (
        await client.patch(url, json={"title": "Encore"}, headers=CENTRE | {"if-match": "*"})
    ).status_code == 404
    assert (await client.get("/api/v1/actions", headers=CENTRE)).json()["total"] == 0
    listed = await client.get("/api/v1/actions", params={"include_archived": "true"}, headers=CENTRE)
    assert [a["id"] for a in listed.json()["items"]] == [created.json()["id"]]
    reader = identity_headers("reader")
    assert (await client.get(url, params={"include_archived": "true"}, headers=reader)).status_code == 403
    seen = await client.get(url, params={"include_archived": "true"}, headers=CENTRE)
    assert seen.json()["archived_at"] is not None and seen.json()["revision"] == 2
    again = await client.delete(url, headers=CENTRE | {"if-match": seen.headers["etag"]})
    assert again.status_code == 404  # archived: not there any more for a DELETE either

    restored = await client.post(url + "/restore", headers=CENTRE | {"if-match": seen.headers["etag"]})
    assert restored.status_code == 200, restored.text
    assert restored.json()["archived_at"] is None and restored.json()["revision"] == 3
    assert (await client.get(url, headers=CENTRE)).json() == restored.json()
    not_archived = await client.post(
        url + "/restore", headers=CENTRE | {"if-match": restored.headers["etag"]}
    )
    assert not_archived.status_code == 409
    history = (await client.get(url + "/history", headers=CENTRE)).json()["items"]
    assert [e["action"] for e in history] == ["restore", "archive", "create"]
    assert history[1]["changes"][0]["field"] == "archived_at" and history[1]["changes"][0]["old"] is None


async def test_list_filters_repeat_for_several_values(client: httpx.AsyncClient) -> None:
    await create(client, lever_id="augm_haies")
    await create(client, lever_id="augm_vélotc", status="retenue")
    await create(client, headers=OCCITANIE, region="76", lever_id="augm_covoit")

    async def total(params: list[tuple[str, str]]) -> int:
        response = await client.get("/api/v1/actions", params=params, headers=ADMIN)
        assert response.status_code == 200, response.text
        return int(response.json()["total"])

    assert await total([("lever_id", "augm_haies"), ("lever_id", "augm_vélotc")]) == 2
    assert await total([("region", "24"), ("region", "76")]) == 3
    assert await total([("region", "24"), ("status", "retenue")]) == 1
    assert await total([("status", "retenue"), ("status", "proposee")]) == 3
    refused = await client.get("/api/v1/actions", params={"lever_id": "Bad Id!"}, headers=ADMIN)
    assert refused.status_code == 422
