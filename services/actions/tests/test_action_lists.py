"""The actions list: filters by lever (main or other), sector, territory, carrier, status, criteria, year and
accent-insensitive text; validated sort keys; pagination."""

from __future__ import annotations

from typing import Any

import httpx

from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
OCCITANIE = identity_headers("coordinator", "76")


async def post(client: httpx.AsyncClient, headers: dict[str, str] = CENTRE, **fields: Any) -> str:
    body = {"title": "Action", "territory": {"level": "region", "code": "24"}} | fields
    response = await client.post("/api/v1/actions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_every_filter_keeps_what_it_names(client: httpx.AsyncClient) -> None:
    hedges = await post(
        client,
        title="Plantation de haies bocagères",
        description="Avec les éleveurs du Loiret",
        territory={"level": "departement", "code": "45"},
        lever_id="augm_haies",
        carriers=[
            {"kind": "collectivite", "territory": {"level": "departement", "code": "45"}},
            {"kind": "association", "name": "Prom'Haies"},
        ],
        status="retenue",
        nature="amplifiee",
        structurante=True,
        start_date="2025-01-01",
        end_date="2026-06-30",
    )
    bikes = await post(
        client,
        title="Réseau express vélo",
        territory={"level": "epci", "code": "244500468"},
        lever_id="augm_covoit",
        other_lever_ids=["augm_vélotc"],
        carriers=[{"kind": "entreprise", "name": "Keolis Orléans"}],
        multi_acteurs=True,
        nature="nouvelle",
        start_date="2027-01-01",
    )
    other = await post(client, OCCITANIE, title="Rénovation", territory={"level": "region", "code": "76"})

    async def ids(**params: Any) -> set[str]:
        response = await client.get("/api/v1/actions", params=params, headers=ADMIN)
        assert response.status_code == 200, (params, response.text)
        return {item["id"] for item in response.json()["items"]}

    assert await ids() == {hedges, bikes, other}
    assert await ids(lever_id="augm_vélotc") == {bikes}  # another lever of the action
    assert await ids(lever_id=["augm_haies", "augm_covoit"]) == {hedges, bikes}
    bike_sector = (await client.get(f"/api/v1/actions/{bikes}", headers=ADMIN)).json()
    assert bike_sector["lever_id"] == "augm_covoit"
    assert await ids(sector="transport-voyageurs") == {bikes}
    assert await ids(sector="nowhere") == set()
    assert await ids(region="24") == {hedges, bikes}
    assert await ids(departement="45") == {hedges, bikes}  # Orléans Métropole lies in the Loiret
    assert await ids(territory="epci:244500468") == {bikes}
    assert await ids(territory=["departement:45", "region:76"]) == {hedges, other}
    assert await ids(carrier="45") == {hedges}
    assert await ids(carrier="prom'haies") == {hedges}
    assert await ids(carrier="KEOLIS  orléans") == {bikes}
    assert await ids(carrier="Keolis") == set()  # a whole name, not a part
    assert await ids(status="retenue") == {hedges}
    assert await ids(nature=["nouvelle", "acceleree"]) == {bikes}
    assert await ids(multi_acteurs="true") == {bikes}
    assert await ids(multi_acteurs="false") == {hedges, other}
    assert await ids(structurante="true") == {hedges}
    assert await ids(year=2026) == {hedges}
    assert await ids(year=2030) == {bikes}  # no end date: under way from its start
    assert await ids(year=2024) == set()
    assert await ids(q="BOCAGERES eleveurs") == {hedges}
    assert await ids(q="vélo") == {bikes}
    assert await ids(q="100%") == set()  # LIKE wildcards are literal
    assert await ids(q="haies vélo") == set()  # every word
    assert await ids(region="24", status="proposee", q="velo") == {bikes}


async def test_bad_filters_and_sort_keys_are_422s(client: httpx.AsyncClient) -> None:
    for params in (
        {"territory": "45"},
        {"territory": "pays:FR"},
        {"sector": "Transport Voyageurs"},
        {"nature": "ancienne"},
        {"year": "2100"},
        {"q": "a\x00b"},
        {"sort": "search_text"},
        {"multi_acteurs": "peut-être"},
    ):
        response = await client.get("/api/v1/actions", params=params, headers=ADMIN)
        assert response.status_code == 422, params
        assert response.json()["errors"][0]["loc"][:2] == ["query", next(iter(params))], params


async def test_sorted_by_status_end_date_and_paginated(client: httpx.AsyncClient) -> None:
    for title, end in (("C", "2027-12-31"), ("A", "2029-12-31"), ("B", "2028-12-31")):
        await post(client, title=f"Action {title}", start_date="2025-01-01", end_date=end)
    page = await client.get(
        "/api/v1/actions", params={"sort": "end_date", "descending": "true", "page_size": 2}, headers=ADMIN
    )
    assert [a["title"] for a in page.json()["items"]] == ["Action A", "Action B"]
    assert page.json()["total"] == 3
    titles = await client.get(
        "/api/v1/actions", params={"sort": "title", "page": 2, "page_size": 2}, headers=ADMIN
    )
    assert [a["title"] for a in titles.json()["items"]] == ["Action C"]


async def test_actions_without_a_sort_value_come_last_either_way(client: httpx.AsyncClient) -> None:
    # The same order on SQLite and PostgreSQL, which put NULLs at opposite ends by default.
    early = await post(
        client, title="Early", start_date="2025-01-01", end_date="2026-12-31", estimated_cost_eur="1000"
    )
    late = await post(
        client, title="Late", start_date="2027-01-01", end_date="2029-12-31", estimated_cost_eur="9000"
    )
    blank = sorted([await post(client, title="Blank 1"), await post(client, title="Blank 2")])

    async def ids(**params: Any) -> list[str]:
        response = await client.get("/api/v1/actions", params=params, headers=ADMIN)
        assert response.status_code == 200, (params, response.text)
        return [item["id"] for item in response.json()["items"]]

    for key in ("start_date", "end_date", "estimated_cost_eur"):
        assert await ids(sort=key) == [early, late, *blank], key
        assert await ids(sort=key, descending="true") == [late, early, *blank], key
        # Pages of a sort with ties neither overlap nor skip.
        pages = [await ids(sort=key, descending="true", page=n, page_size=1) for n in (1, 2, 3, 4)]
        assert [page[0] for page in pages] == [late, early, *blank], key


async def test_the_year_filter_keeps_the_actions_whose_calendar_overlaps_it(
    client: httpx.AsyncClient,
) -> None:
    both = await post(client, title="Both", start_date="2025-03-01", end_date="2026-06-30")
    start_only = await post(client, title="Start only", start_date="2027-01-01")
    end_only = await post(client, title="End only", end_date="2026-12-31")
    await post(client, title="No calendar")

    async def ids(year: int) -> set[str]:
        response = await client.get("/api/v1/actions", params={"year": year}, headers=ADMIN)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    assert await ids(2024) == {end_only}  # under way until its end
    assert await ids(2025) == {both, end_only}
    assert await ids(2026) == {both, end_only}  # its last year: found by its end date alone
    assert await ids(2027) == {start_only}
    assert await ids(2040) == {start_only}  # no end date: under way from its start
