"""Expected impact per lever: entered in ktCO2e or in the lever's physical unit, the other derived with the
levers service's factors for the action's région at a stated panorama version, kept with that version, and
moved to another version only by the explicit recompute."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
OCCITANIE = identity_headers("coordinator", "76")
CARS = "augm_voitelec"  # milliers de véhicules électriques dans le parc régional


@pytest_asyncio.fixture(loop_scope="session")
async def levers(levers_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The levers service itself: the figures the actions' impacts must agree with."""
    transport = httpx.ASGITransport(app=levers_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://levers.test") as client:
        yield client


async def convert(levers: httpx.AsyncClient, lever: str, **params: str) -> dict[str, Any]:
    response = await levers.get(
        f"/api/v1/levers/{lever}/convert", params={"region": "24"} | params, headers=ADMIN
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def post(client: httpx.AsyncClient, impacts: list[dict[str, Any]], **fields: Any) -> httpx.Response:
    body = {
        "title": "Bornes et aides à l'achat de véhicules électriques",
        "territory": {"level": "departement", "code": "45"},
        "lever_id": CARS,
        "other_lever_ids": ["augm_vélotc"],
        "impacts": impacts,
    } | fields
    return await client.post("/api/v1/actions", json=body, headers=CENTRE)


def errors(response: httpx.Response) -> list[tuple[list[Any], str]]:
    assert response.status_code == 422, response.text
    return [(e["loc"], e["type"]) for e in response.json()["errors"]]


async def test_thousands_of_electric_cars_show_the_ktco2e_the_levers_service_gives(
    client: httpx.AsyncClient, levers: httpx.AsyncClient
) -> None:
    created = await post(client, [{"lever_id": CARS, "physical": "5"}])
    assert created.status_code == 201, created.text
    (impact,) = created.json()["impacts"]
    factors = await convert(levers, CARS, ktco2e="0")
    start, ratio = Decimal(factors["start_2019"]), Decimal(factors["ratio"])
    # The levers service's own conversion of the 2030 fleet this action adds to the 2019 one.
    official = await convert(levers, CARS, physical=str(start + 5))
    expected = Decimal(official["ktco2e"]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    assert impact == {
        "lever_id": CARS,
        "entered": "physical",
        "ktco2e": str(expected),
        "physical": "5.000",
        "unit": factors["unit"],
        "version": factors["version"],
        "ratio": str(ratio),
    }
    assert Decimal(impact["ktco2e"]) > 0
    assert created.json()["expected_impact_ktco2e"] == str(expected)


async def test_an_impact_in_ktco2e_derives_the_physical_change(
    client: httpx.AsyncClient, levers: httpx.AsyncClient
) -> None:
    created = await post(
        client, [{"lever_id": CARS, "ktco2e": "12.5"}, {"lever_id": "augm_vélotc", "ktco2e": "1"}]
    )
    assert created.status_code == 201, created.text
    cars, bikes = created.json()["impacts"]
    official = await convert(levers, CARS, ktco2e="12.5")
    change = Decimal(official["physical"]) - Decimal(official["start_2019"])
    assert (cars["entered"], cars["ktco2e"]) == ("ktco2e", "12.5000")
    assert cars["physical"] == str(change.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN))
    # km annuels/voiture: an intensity, which no action adds to: ktCO2e only.
    assert (bikes["physical"], bikes["ktco2e"]) == (None, "1.0000")
    assert bikes["unit"] is not None and "voiture" in bikes["unit"]
    assert created.json()["expected_impact_ktco2e"] == "13.5000"


async def test_what_an_impact_cannot_be_is_a_422_naming_it(client: httpx.AsyncClient) -> None:
    intensive = await post(client, [{"lever_id": "augm_vélotc", "physical": "100"}])
    assert errors(intensive) == [(["body", "impacts", 0, "physical"], "ktco2e-only")]
    assert "intensity" in intensive.json()["errors"][0]["msg"]
    assert errors(await post(client, [{"lever_id": "augm_haies", "ktco2e": "1"}])) == [
        (["body", "impacts", 0, "lever_id"], "value_error")
    ]
    twice = await post(client, [{"lever_id": CARS, "ktco2e": "1"}, {"lever_id": CARS, "physical": "2"}])
    assert errors(twice) == [(["body", "impacts", 1, "lever_id"], "value_error")]
    both = await post(client, [{"lever_id": CARS, "ktco2e": "1", "physical": "2"}])
    assert errors(both)[0][0][:3] == ["body", "impacts", 0]
    negative = await post(client, [{"lever_id": CARS, "ktco2e": "-1"}])
    assert errors(negative)[0][0] == ["body", "impacts", 0, "ktco2e"]
    wrong_way = await post(client, [{"lever_id": CARS, "physical": "-5"}])  # fewer electric cars
    assert errors(wrong_way) == [(["body", "impacts", 0, "physical"], "out-of-bounds")]
    unknown_version = await post(client, [{"lever_id": CARS, "ktco2e": "1", "version": "2020-01-01"}])
    assert errors(unknown_version) == [(["body", "impacts", 0, "version"], "not_found")]
    assert (await client.get("/api/v1/actions", headers=ADMIN)).json()["total"] == 0


async def test_a_figure_keeps_its_version_until_an_explicit_recompute(
    client: httpx.AsyncClient, levers: httpx.AsyncClient
) -> None:
    created = await post(client, [{"lever_id": CARS, "physical": "5", "version": "2023-11-14"}])
    assert created.status_code == 201, created.text
    old = created.json()["impacts"][0]
    first = await convert(levers, CARS, ktco2e="0", version="2023-11-14")
    assert (old["version"], old["ratio"]) == ("2023-11-14", first["ratio"])
    url = f"/api/v1/actions/{created.json()['id']}"
    read = (await client.get(url, headers=CENTRE)).json()
    assert read["impacts"] == [old]  # the latest version (2024-07-24) is imported: nothing moved

    recompute = f"{url}/impacts/recompute"
    assert (await client.post(recompute, params={"version": "2024-07-24"}, headers=CENTRE)).status_code == 428
    refused = await client.post(
        recompute, params={"version": "2024-07-24"}, headers=OCCITANIE | {"if-match": created.headers["etag"]}
    )
    assert refused.status_code == 404
    unknown = await client.post(
        recompute, params={"version": "2020-01-01"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    assert errors(unknown) == [(["query", "version"], "not_found")]

    done = await client.post(
        recompute, params={"version": "2024-07-24"}, headers=CENTRE | {"if-match": created.headers["etag"]}
    )
    assert done.status_code == 200, done.text
    latest = await convert(levers, CARS, ktco2e="0", version="2024-07-24")
    body = done.json()
    assert (body["version"], body["revision"]) == ("2024-07-24", 2)
    (change,) = body["changes"]
    assert change["old"] == old
    new = change["new"]
    assert (new["version"], new["ratio"], new["physical"], new["entered"]) == (
        "2024-07-24",
        latest["ratio"],
        "5.000",
        "physical",
    )
    quotient = (Decimal(5) / Decimal(latest["ratio"])).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    assert new["ktco2e"] == str(quotient)
    assert done.headers["etag"] != created.headers["etag"]
    after = (await client.get(url, headers=CENTRE)).json()
    assert after["impacts"] == [new] and after["expected_impact_ktco2e"] == new["ktco2e"]
    history = (await client.get(f"{url}/history", headers=CENTRE)).json()["items"][0]
    assert history["action"] == "recompute"
    assert {c["field"] for c in history["changes"]} <= {"impacts", "expected_impact_ktco2e"}
    assert next(c for c in history["changes"] if c["field"] == "impacts")["old"] == [old]


async def test_a_lever_without_a_conversion_in_the_region_takes_ktco2e_only(
    client: httpx.AsyncClient,
) -> None:
    # Agricultural energy has a physical unit, but Île-de-France's panorama gives it in ktCO2e only.
    body = {"title": "Serres chauffées par géothermie", "territory": {"level": "region", "code": "11"}}
    body |= {"lever_id": "reduc_eneragri"}
    created = await client.post(
        "/api/v1/actions",
        json=body | {"impacts": [{"lever_id": "reduc_eneragri", "ktco2e": "2"}]},
        headers=ADMIN,
    )
    assert created.status_code == 201, created.text
    (impact,) = created.json()["impacts"]
    assert (impact["ktco2e"], impact["physical"], impact["ratio"]) == ("2.0000", None, None)
    refused = await client.post(
        "/api/v1/actions",
        json=body | {"impacts": [{"lever_id": "reduc_eneragri", "physical": "2"}]},
        headers=ADMIN,
    )
    assert errors(refused) == [(["body", "impacts", 0, "physical"], "ktco2e-only")]
