"""The lever catalogue (per version), sectors and thématiques, and the conversion endpoint."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from planeco_shared.testing import identity_headers

ANONYMOUS = identity_headers("anonymous")


async def get(client: httpx.AsyncClient, url: str, status: int = 200, **params: str) -> Any:
    response = await client.get(url, params=params, headers=ANONYMOUS)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    return response.json()


async def test_the_catalogue_is_the_latest_version_by_default(client: httpx.AsyncClient) -> None:
    body = await get(client, "/api/v1/levers", page_size="500")
    assert body["total"] == 42
    assert {item["version"] for item in body["items"]} == {"2024-07-24"}
    cars = body["items"][0]
    assert cars["id"] == "augm_voitelec"
    assert cars["sector"] == "transport-voyageurs"
    assert cars["sector_label"] == "Transport de voyageurs"
    assert cars["group"] == "mieux-se-deplacer"
    assert cars["unit"] == "milliers de véhicules électriques dans le parc régional (en 2030)"
    assert (cars["has_physical_unit"], cars["editable"], cars["zones"]) == (True, True, ["metro"])
    assert cars["varies_by_region"] == ["ratio"]
    assert cars["intensive_unit"] is False  # thousands of cars add up
    intensive = {item["id"] for item in body["items"] if item["intensive_unit"]}
    # L/100 km, km/voiture, kg/hab, kg/MWh
    assert {"reduc_consovp", "augm_vélotc", "reduc_proddma", "reduc_chal"} <= intensive
    assert not any(item["intensive_unit"] for item in body["items"] if not item["has_physical_unit"])
    overseas = {item["id"] for item in body["items"] if item["zones"] == ["drom"]}
    assert len(overseas) == 12
    enr = next(item for item in body["items"] if item["id"] == "co2_enr")
    assert (enr["has_physical_unit"], enr["editable"], enr["unit"], enr["zones"]) == (
        False,
        False,
        None,
        ["metro", "drom"],
    )


async def test_an_older_version_and_filters(client: httpx.AsyncClient) -> None:
    old = await get(client, "/api/v1/levers", version="2023-11-14", page_size="500")
    assert old["total"] == 30
    assert "augm_artif" in {item["id"] for item in old["items"]}
    waste = await get(client, "/api/v1/levers", sector="dechets", sort="id")
    assert [item["id"] for item in waste["items"]] == [
        "augm_valodma",
        "co2_dechets",
        "co2_isdnd",
        "reduc_proddma",
    ]
    assert {item["sector_label"] for item in waste["items"]} == {"Déchets"}
    no_unit = await get(client, "/api/v1/levers", has_physical_unit="false", zone="metro", page_size="500")
    assert {item["id"] for item in no_unit["items"]} == {
        "co2_biogaz",
        "co2_elevage",
        "co2_enr",
        "co2_foret",
        "co2_indus",
        "co2_isdnd",
        "co2_prodbois",
    }
    paged = await get(client, "/api/v1/levers", page="2", page_size="20", sort="name")
    assert (paged["total"], len(paged["items"]), paged["page"]) == (42, 20, 2)
    await get(client, "/api/v1/levers", 404, version="2020-01-01")
    await get(client, "/api/v1/levers", 422, version="latest")
    await get(client, "/api/v1/levers", 422, sort="sector")


async def test_one_lever_says_which_versions_have_it(client: httpx.AsyncClient) -> None:
    bikes = await get(client, "/api/v1/levers/augm_vélotc")  # the upstream id has an accent
    assert bikes["versions"] == ["2024-07-24", "2024-04-08", "2023-11-14"]
    assert len(bikes["regions"]) == 13
    gone = await get(client, "/api/v1/levers/augm_artif")  # only in the first version
    assert (gone["version"], gone["versions"], len(gone["regions"])) == ("2023-11-14", ["2023-11-14"], 18)
    problem = await get(client, "/api/v1/levers/augm_artif", 404, version="2024-07-24")
    assert "2023-11-14" in problem["detail"]
    await get(client, "/api/v1/levers/no_such_lever", 404)
    await get(client, "/api/v1/levers/bad id!", 422)


async def test_sectors_and_groups_are_listed_per_version(client: httpx.AsyncClient) -> None:
    sectors = (await get(client, "/api/v1/levers/sectors"))["items"]
    assert [s["id"] for s in sectors] == [
        "transport-voyageurs",
        "transport-marchandises",
        "transport",
        "residentiel",
        "tertiaire",
        "batiment",
        "industrie",
        "energie",
        "dechets",
        "agriculture-forets-sols",
    ]
    assert sum(s["lever_count"] for s in sectors) == 42
    assert len((await get(client, "/api/v1/levers/sectors", version="2023-11-14"))["items"]) == 8
    groups = (await get(client, "/api/v1/levers/groups"))["items"]
    assert {g["label"] for g in groups} == {
        "Mieux se déplacer",
        "Mieux se loger",
        "Mieux se nourrir",
        "Mieux produire",
        "Mieux préserver",
    }


async def test_convert_grand_est_electric_cars_both_ways(client: httpx.AsyncClient) -> None:
    url = "/api/v1/levers/augm_voitelec/convert"
    forward = await get(client, url, region="44", version="2024-07-24", ktco2e="966.1408")
    assert forward["physical"] == "459.68505216"
    assert forward["physical_rounded"] == "459.7"
    assert forward["direction"] == "to_physical"
    assert (forward["start_2019"], forward["ratio"]) == ("7.821", "0.4677")
    back = await get(client, url, region="44", version="2024-07-24", physical="459.68505216")
    assert back["ktco2e"] == "966.1408"
    rounded = await get(client, url, region="44", physical="459.7")  # latest version by default
    assert rounded["version"] == "2024-07-24"
    assert rounded["ktco2e_rounded"] == "966"
    exact = (Decimal("459.7") - Decimal("7.821")) / Decimal("0.4677")
    assert Decimal(rounded["ktco2e"]) == exact.quantize(Decimal("1e-12"))


async def test_convert_refuses_what_it_cannot_do_with_clear_problems(client: httpx.AsyncClient) -> None:
    url = "/api/v1/levers/augm_voitelec/convert"
    below = await get(client, url, 422, region="44", physical="5")
    assert below["code"] == "out-of-bounds"
    assert below["errors"][0]["loc"] == ["query", "physical"]
    negative = await get(client, url, 422, region="44", ktco2e="-1")
    assert negative["errors"][0]["loc"] == ["query", "ktco2e"]
    no_unit = await get(client, "/api/v1/levers/co2_enr/convert", 422, region="44", ktco2e="10")
    assert no_unit["code"] == "no-physical-unit"
    await get(client, url, 422, region="44")  # neither
    await get(client, url, 422, region="44", ktco2e="1", physical="1")  # both
    await get(client, url, 422, region="44", ktco2e="abc")
    await get(client, url, 422, region="44", ktco2e="NaN")
    await get(client, url, 422, region="44", ktco2e="1e30")
    await get(client, url, 422, ktco2e="1")  # no région
    overseas = await get(client, "/api/v1/levers/co2_hfc/convert", 404, region="44", ktco2e="1")
    assert "overseas lever set" in overseas["detail"]
    await get(client, url, 404, region="99", ktco2e="1")
    await get(client, url, 404, region="44", ktco2e="1", version="2025-01-01")


async def test_oil_heating_clamps_at_zero(client: httpx.AsyncClient) -> None:
    url = "/api/v1/levers/reduc_rfioul/convert"
    panorama = await get(client, "/api/v1/panoramas/2024-07-24/regions/44/levers/reduc_rfioul")
    start, ratio = Decimal(panorama["start_2019"]), Decimal(panorama["ratio"])
    assert ratio < 0
    at_zero = -start / ratio  # the ktCO2e at which no oil-heated home is left
    far = await get(client, url, region="44", ktco2e=str(round(at_zero) + 1000))
    assert (far["physical"], far["clamped"]) == ("0", True)
    objective = await get(client, url, region="44", ktco2e=panorama["objective_ktco2e"])
    assert objective["physical"] == panorama["physical_2030"]
    assert not objective["clamped"]
    back = await get(client, url, region="44", physical=objective["physical"])
    assert back["ktco2e"] == panorama["objective_ktco2e"]
    above_start = await get(client, url, 422, region="44", physical=str(start + 1))
    assert "between 0 and the 2019 value" in above_start["detail"]


async def test_public_reads_are_cacheable_and_revalidate(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/v1/panoramas/2024-07-24/regions/44", headers=ANONYMOUS)
    assert first.headers["cache-control"] == "public, max-age=300, must-revalidate"
    again = await client.get(
        "/api/v1/panoramas/2024-07-24/regions/44",
        headers=ANONYMOUS | {"if-none-match": first.headers["etag"]},
    )
    assert again.status_code == 304
    convert = await client.get(
        "/api/v1/levers/augm_voitelec/convert", params={"region": "44", "ktco2e": "1"}, headers=ANONYMOUS
    )
    assert "etag" in convert.headers
