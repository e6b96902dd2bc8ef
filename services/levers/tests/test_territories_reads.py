"""Territory reads through the public API, against the real INSEE COG 2026 (loaded once in conftest)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from planeco_shared.testing import identity_headers

ANONYMOUS = identity_headers("anonymous")
BASE = "/api/v1/territories"
ISLANDS = {"22016": "Île-de-Bréhat", "29083": "Île-de-Sein", "29155": "Ouessant", "85113": "L'Île-d'Yeu"}


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> Any:
    response = await client.get(f"{BASE}{path}", params=params, headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    return response.json()


async def total(client: httpx.AsyncClient, path: str, **params: Any) -> int:
    count: int = (await get(client, path, page_size=1, **params))["total"]
    return count


async def test_cog_counts(client: httpx.AsyncClient) -> None:
    assert await total(client, "/regions") == 18
    assert await total(client, "/departements") == 101
    assert await total(client, "/epcis") == 1255
    assert await total(client, "/epts") == 11
    assert await total(client, "/communes") == 34875


async def test_epci_natures(client: httpx.AsyncClient) -> None:
    expected = {"ME": 21, "MET69": 1, "CU": 14, "CA": 230, "CC": 989}
    assert {nature: await total(client, "/epcis", nature=nature) for nature in expected} == expected


async def test_region_figures_add_up_to_the_national_ones(client: httpx.AsyncClient) -> None:
    regions = (await get(client, "/regions"))["items"]
    assert len(regions) == 18
    assert sum(r["population"] for r in regions) == 68_350_798
    assert sum(r["departement_count"] for r in regions) == 101
    assert sum(r["epci_count"] for r in regions) == 1255  # each EPCI attached to exactly one région
    assert sum(r["commune_count"] for r in regions) == 34875
    centre = await get(client, "/regions/24")
    assert centre | {"population": None} == {
        "code": "24",
        "name": "Centre-Val de Loire",
        "chef_lieu": "45234",
        "zone": "metro",
        "population": None,
        "departement_count": 6,
        "epci_count": await total(client, "/epcis", region="24"),
        "commune_count": await total(client, "/communes", region="24"),
    }
    departements = (await get(client, "/departements", region="24"))["items"]
    assert [d["code"] for d in departements] == ["18", "28", "36", "37", "41", "45"]
    assert sum(d["population"] for d in departements) == centre["population"]


async def test_departement_item_carries_population_and_counts(client: httpx.AsyncClient) -> None:
    loiret = await get(client, "/departements/45")
    assert loiret["name"] == "Loiret"
    assert loiret["region"] == "24"
    assert loiret["commune_count"] == 325 == await total(client, "/communes", departement="45")
    assert loiret["epci_count"] == await total(client, "/epcis", departement="45")
    communes = (await get(client, "/communes", departement="45", page_size=500))["items"]
    assert loiret["population"] == sum(c["population"] for c in communes)
    assert (await get(client, "/departements/2A"))["name"] == "Corse-du-Sud"


async def test_orleans(client: httpx.AsyncClient) -> None:
    assert await get(client, "/communes/45234") == {
        "code": "45234",
        "name": "Orléans",
        "departement": "45",
        "region": "24",
        "epci": "244500468",
        "ept": None,
        "siren": "214502346",
        "population": 116357,
        "postal_codes": ["45000", "45100"],
    }


async def test_ajaccio_and_corsican_code_prefix(client: httpx.AsyncClient) -> None:
    ajaccio = await get(client, "/communes/2A004")
    assert (ajaccio["name"], ajaccio["departement"], ajaccio["region"]) == ("Ajaccio", "2A", "94")
    found = await get(client, "/communes", q="2a00")
    assert "2A004" in [c["code"] for c in found["items"]]
    assert all(c["code"].startswith("2A00") for c in found["items"])


async def test_the_four_islands_have_no_epci(client: httpx.AsyncClient) -> None:
    for code, name in ISLANDS.items():
        commune = await get(client, f"/communes/{code}")
        assert (commune["name"], commune["epci"]) == (name, None)


async def test_epci_item_lists_its_members_and_sums_their_population(client: httpx.AsyncClient) -> None:
    orleans = await get(client, "/epcis/244500468")
    assert (orleans["name"], orleans["nature"], orleans["financing_mode"]) == (
        "Orléans Métropole",
        "ME",
        "FPU",
    )
    assert (orleans["region"], orleans["departement"], orleans["commune_count"]) == ("24", "45", 22)
    assert len(orleans["members"]) == 22
    assert orleans["population"] == sum(m["population"] for m in orleans["members"]) == 297350
    assert {"code": "45234", "name": "Orléans", "population": 116357} in orleans["members"]
    listed = await get(client, "/epcis", q="244500468")
    assert listed["total"] == 1
    assert "members" not in listed["items"][0]


async def test_epci_spanning_two_regions_is_attached_by_the_documented_rule(
    client: httpx.AsyncClient,
) -> None:
    # CA du Pays de Dreux: 105,457 inhabitants in Centre-Val de Loire (28), 10,814 in Normandie (27).
    dreux = await get(client, "/epcis/200040277")
    assert (dreux["region"], dreux["departement"]) == ("24", "28")
    assert (dreux["regions"], dreux["departements"]) == (["24", "28"], ["27", "28"])
    assert dreux["population"] == 116271
    # CC Interco Normandie Sud Eure: 256 inhabitants in Centre-Val de Loire, the rest in Normandie.
    sud_eure = await get(client, "/epcis/200066462")
    assert (sud_eure["region"], sud_eure["regions"]) == ("28", ["24", "28"])
    # Listed under the région it is attached to, and there only.
    assert await total(client, "/epcis", region="24", q="200040277") == 1
    assert await total(client, "/epcis", region="28", q="200040277") == 0


async def test_loiret_agglomerations(client: httpx.AsyncClient) -> None:
    found = await get(client, "/epcis", departement="45", nature="CA")
    assert [(e["siren"], e["name"]) for e in found["items"]] == [
        ("244500203", "CA Montargoise et Rives du Loing (AME)")
    ]


async def test_ept_are_typed_apart(client: httpx.AsyncClient) -> None:
    plaine = await get(client, "/epts/200057867")
    assert (plaine["name"], plaine["region"], plaine["departement"]) == ("Plaine Commune", "11", "93")
    assert plaine["population"] == sum(m["population"] for m in plaine["members"])
    missing = await client.get(f"{BASE}/epcis/200057867", headers=ANONYMOUS)
    assert missing.status_code == 404
    assert (await get(client, "/communes/93001"))["ept"] == "200057867"


@pytest.mark.parametrize("query", ["orleans", "ORLÉANS", "Orléans", "orl"])
async def test_accent_and_case_insensitive_search(client: httpx.AsyncClient, query: str) -> None:
    found = await get(client, "/communes", q=query, departement="45")
    assert found["items"][0]["code"] == "45234"


async def test_search_saint_etienne(client: httpx.AsyncClient) -> None:
    found = await get(client, "/communes", q="saint etienne")
    assert found["items"][0] == await get(client, "/communes/42218")
    assert found["items"][0]["name"] == "Saint-Étienne"
    assert found["total"] == 68  # every Saint-Étienne-de-… too, after the exact match
    apostrophe = await get(client, "/communes", q="l'ile d'yeu")
    assert apostrophe["items"][0]["code"] == "85113"


async def test_code_prefix_search(client: httpx.AsyncClient) -> None:
    found = await get(client, "/communes", q="452", page_size=500)
    assert found["total"] == 94
    assert all(c["code"].startswith("452") and c["departement"] == "45" for c in found["items"])
    codes = [c["code"] for c in found["items"]]
    assert codes == sorted(codes)


async def test_pagination_is_stable_and_complete(client: httpx.AsyncClient) -> None:
    first = await get(client, "/communes", departement="45", page_size=200)
    second = await get(client, "/communes", departement="45", page=2, page_size=200)
    codes = [c["code"] for c in first["items"] + second["items"]]
    assert len(codes) == len(set(codes)) == 325


@pytest.mark.parametrize(
    "path",
    [
        "/regions/99",
        "/departements/2C",
        "/epcis/123456789",
        "/epts/244500468",
        "/communes/99999",
        "/crte/none",
    ],
)
async def test_unknown_code_is_a_404_problem(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(f"{BASE}{path}", headers=ANONYMOUS)
    if path == "/departements/2C":  # not even shaped like a code
        assert response.status_code == 422
    else:
        assert response.status_code == 404
        assert response.json()["code"] == "not-found"
    assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/communes/ABCDE", {}),
        ("/communes/4523", {}),
        ("/epcis/24450046", {}),
        ("/communes", {"q": "a"}),
        ("/communes", {"q": "--"}),
        ("/communes", {"q": "%%"}),
        ("/communes", {"q": "x" * 101}),
        ("/communes", {"departement": "2a"}),
        ("/communes", {"epci": "12"}),
        ("/epcis", {"nature": "METRO"}),
        ("/epcis", {"nature": "EPT"}),
        ("/departements", {"region": "2"}),
        ("/crte", {"region": "ab"}),
        ("/communes", {"page_size": 501}),
        ("/communes", {"page": 0}),
    ],
)
async def test_invalid_input_is_a_422_problem(
    client: httpx.AsyncClient, path: str, params: dict[str, Any]
) -> None:
    response = await client.get(f"{BASE}{path}", params=params, headers=ANONYMOUS)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["errors"]


@pytest.mark.parametrize("query", ["a_b%", "o'", "🙂🙂 orléans", "saint\x00", "' OR 1=1 --", "2A", "000"])
async def test_odd_searches_never_fail(client: httpx.AsyncClient, query: str) -> None:
    response = await client.get(f"{BASE}/communes", params={"q": query}, headers=ANONYMOUS)
    assert response.status_code in (200, 422), response.text


async def test_a_collectivite_is_found_by_siren_or_insee_code_with_where_it_lies(
    client: httpx.AsyncClient,
) -> None:
    by = {}
    for identifier in ("45234", "214502346", "244500468", "45", "2A"):
        response = await client.get(f"/api/v1/territories/collectivites/{identifier}", headers=ANONYMOUS)
        assert response.status_code == 200, (identifier, response.text)
        by[identifier] = response.json()
    assert by["45234"] == by["214502346"]
    assert by["45234"] == {
        "level": "commune",
        "code": "45234",
        "siren": "214502346",
        "name": "Orléans",
        "regions": ["24"],
        "departements": ["45"],
        "epci": "244500468",
    }
    assert (by["244500468"]["level"], by["244500468"]["regions"], by["244500468"]["departements"]) == (
        "epci",
        ["24"],
        ["45"],
    )
    assert (by["45"]["level"], by["45"]["regions"]) == ("departement", ["24"])
    assert (by["2A"]["level"], by["2A"]["regions"]) == ("departement", ["94"])
    missing = await client.get("/api/v1/territories/collectivites/999999999", headers=ANONYMOUS)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    malformed = await client.get("/api/v1/territories/collectivites/nope", headers=ANONYMOUS)
    assert malformed.status_code == 422
