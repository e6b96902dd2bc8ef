"""Regional adjustments on the real data: conversions, the panorama side by side, validation.

Grand Est (44), electric cars (augm_voitelec) in the 2024-07-24 panorama: ratio 0.4677 thousand cars per
ktCO2e, 2019 value 7.821 thousand.
Expected figures are recomputed here from the SGPE file, not taken from the service.
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from pathlib import Path
from typing import Any

import httpx
import pytest

from planeco_shared.testing import identity_headers

DATA = Path(__file__).resolve().parents[1] / "data" / "sgpe-panorama"
VERSION = "2024-07-24"
PANORAMA = f"/api/v1/panoramas/{VERSION}/regions/44"
ADJUSTMENTS = PANORAMA + "/adjustments"
COORDINATOR = identity_headers("coordinator", "44")
ANONYMOUS = identity_headers("anonymous")


def file_row(version: str, region_name: str, lever_id: str) -> dict[str, Any]:
    rows = json.loads((DATA / f"panorama-{version}.json").read_bytes(), parse_float=Decimal)
    return next(r for r in rows if r["regionName"] == region_name and r["id"] == lever_id)


CARS = file_row(VERSION, "Grand Est", "augm_voitelec")


def text(value: Decimal) -> str:
    """As the API writes decimals: plain notation, no trailing zeros."""
    out = format(value, "f")
    return out.rstrip("0").rstrip(".") if "." in out else out


async def put(
    client: httpx.AsyncClient,
    lever_id: str,
    body: dict[str, Any],
    status: int = 201,
    *,
    url: str = ADJUSTMENTS,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    response = await client.put(f"{url}/{lever_id}", json=body, headers=headers or COORDINATOR)
    assert response.status_code == status, response.text
    return response


async def test_physical_value_gives_ktco2e_as_documented(client: httpx.AsyncClient) -> None:
    assert (CARS["ratioCO2toPhys"], CARS["startPoint2019"]) == (Decimal("0.4677"), Decimal("7.821"))
    response = await put(
        client, "augm_voitelec", {"objective_physical": "500", "comment": "500 000 VE en 2030 (SRADDET)"}
    )
    body = response.json()
    with localcontext(Context(prec=50)):
        quotient = (Decimal(500) - CARS["startPoint2019"]) / CARS["ratioCO2toPhys"]
    expected = quotient.quantize(Decimal("1e-12"), rounding=ROUND_HALF_EVEN)
    assert body["objective_ktco2e"] == text(expected) == "1052.3391062647"
    assert body["objective_ktco2e_rounded"] == "1052"  # the simulator's Math.round
    assert (body["physical_2030"], body["physical_2030_rounded"]) == ("500", "500")
    assert body["entered_unit"] == "physical"
    assert (body["ratio"], body["start_2019"]) == ("0.4677", "7.821")
    assert (body["anchored_version"], body["anchored_on_this_version"]) == (VERSION, True)
    assert body["unit"].startswith("milliers de véhicules électriques")
    assert "updated_by" not in body  # public reads do not name who changed it (see the history)
    assert response.headers["etag"] == body["etag"] == '"44-augm_voitelec-v1"'
    assert response.headers["location"] == f"{ADJUSTMENTS}/augm_voitelec"


async def test_ktco2e_gives_the_physical_value_and_progress(client: httpx.AsyncClient) -> None:
    body = (
        await put(
            client,
            "augm_voitelec",
            {
                "objective_ktco2e": 1000,
                "comment": "Plan régional",
                "done_ktco2e": "120.5",
                "planned_ktco2e": 300,
            },
        )
    ).json()
    physical = CARS["startPoint2019"] + Decimal(1000) * CARS["ratioCO2toPhys"]
    assert body["physical_2030"] == text(physical) == "475.521"
    assert body["physical_2030_rounded"] == "475.5"
    assert (body["objective_ktco2e"], body["entered_unit"], body["clamped"]) == ("1000", "ktco2e", False)
    assert (body["done_ktco2e"], body["planned_ktco2e"]) == ("120.5", "300")
    assert body["remaining_ktco2e"] == "579.5"  # 1000 − 120.5 − 300


async def test_negative_ratio_clamps_at_zero_like_the_simulator(client: httpx.AsyncClient) -> None:
    oil = file_row(VERSION, "Grand Est", "reduc_rfioul")  # homes heated with oil: ratio < 0
    beyond = int(-oil["startPoint2019"] / oil["ratioCO2toPhys"]) + 100
    body = (
        await put(client, "reduc_rfioul", {"objective_ktco2e": beyond, "comment": "sortie du fioul"})
    ).json()
    assert (body["physical_2030"], body["clamped"]) == ("0", True)
    too_many = await put(
        client,
        "reduc_rfioul",
        {"objective_physical": "400", "comment": "x"},
        422,
        url=PANORAMA + "/adjustments",
    )
    assert too_many.json()["errors"][0]["loc"] == ["body", "objective_physical"]
    assert "between 0 and the 2019 value" in too_many.json()["detail"]


async def test_the_panorama_shows_official_and_adjusted_side_by_side(client: httpx.AsyncClient) -> None:
    official = (await client.get(PANORAMA, headers=ANONYMOUS)).json()
    assert official["adjusted_lever_count"] == 0
    assert official["adjusted_total_ktco2e"] == official["total_ktco2e"]
    assert all(lever["adjusted"] is None for lever in official["levers"])
    assert all(s["adjusted_objective_ktco2e"] == s["objective_ktco2e"] for s in official["sectors"])

    cars = (await put(client, "augm_voitelec", {"objective_physical": "500", "comment": "SRADDET"})).json()
    industry = (
        await put(client, "co2_indus", {"objective_ktco2e": "5000", "comment": "Feuille de route"})
    ).json()
    assert (industry["physical_2030"], industry["unit"]) == (None, None)  # no physical unit

    body = (await client.get(PANORAMA, headers=ANONYMOUS)).json()
    levers = {lever["lever_id"]: lever for lever in body["levers"]}
    car = levers["augm_voitelec"]
    assert car["objective_ktco2e"] == "966.1408"  # the official figure, untouched
    assert car["physical_2030"] == text(CARS["startPoint2019"] + CARS["objCO2"] * CARS["ratioCO2toPhys"])
    adjusted = car["adjusted"]
    assert (adjusted["objective_ktco2e"], adjusted["physical_2030"]) == (cars["objective_ktco2e"], "500")
    assert adjusted["comment"] == "SRADDET"
    assert "updated_by" not in adjusted
    assert (adjusted["anchored_version"], adjusted["anchored_on_this_version"]) == (VERSION, True)
    assert levers["co2_indus"]["adjusted"]["objective_ktco2e"] == "5000"
    assert sum(lever["adjusted"] is not None for lever in body["levers"]) == body["adjusted_lever_count"] == 2

    # Totals of the adjusted view: adjusted where present, official otherwise, exactly.
    def effective(lever: dict[str, Any]) -> Decimal:
        return Decimal((lever["adjusted"] or lever)["objective_ktco2e"])

    assert body["total_ktco2e"] == official["total_ktco2e"]
    assert Decimal(body["adjusted_total_ktco2e"]) == sum(map(effective, body["levers"]))
    assert Decimal(body["adjusted_total_ktco2e"]) - Decimal(body["total_ktco2e"]) == (
        Decimal(cars["objective_ktco2e"]) - Decimal("966.1408") + Decimal(5000) - Decimal("5304.567")
    )
    for sector in body["sectors"]:
        members = [lever for lever in body["levers"] if lever["sector"] == sector["sector"]]
        assert Decimal(sector["adjusted_objective_ktco2e"]) == sum(map(effective, members))
        assert sector["adjusted_lever_count"] == sum(lever["adjusted"] is not None for lever in members)


async def test_reads_through_another_version_say_where_the_adjustment_is_anchored(
    client: httpx.AsyncClient,
) -> None:
    await put(client, "augm_voitelec", {"objective_physical": "500", "comment": "SRADDET"})
    earlier = (await client.get("/api/v1/panoramas/2024-04-08/regions/44", headers=ANONYMOUS)).json()
    car = next(lever for lever in earlier["levers"] if lever["lever_id"] == "augm_voitelec")
    assert (car["adjusted"]["anchored_version"], car["adjusted"]["anchored_on_this_version"]) == (
        VERSION,
        False,
    )
    listed = (await client.get("/api/v1/panoramas/latest/regions/44/adjustments", headers=ANONYMOUS)).json()
    assert listed["total"] == 1
    assert listed["items"][0]["anchored_on_this_version"] is True  # latest is 2024-07-24
    one = await client.get(f"{ADJUSTMENTS}/augm_voitelec", headers=ANONYMOUS)
    assert one.status_code == 200
    assert one.headers["etag"] == one.json()["etag"]
    # Saving through the earlier version re-anchors it there.
    again = await put(
        client,
        "augm_voitelec",
        {"objective_physical": "500", "comment": "SRADDET"},
        200,
        url="/api/v1/panoramas/2024-04-08/regions/44/adjustments",
        headers=COORDINATOR | {"if-match": one.headers["etag"]},
    )
    assert again.json()["anchored_version"] == "2024-04-08"
    assert again.headers["etag"] == '"44-augm_voitelec-v2"'


async def test_levers_the_region_cannot_adjust_are_refused(client: httpx.AsyncClient) -> None:
    forest = await put(client, "co2_foret", {"objective_ktco2e": "1", "comment": "x"}, 422)
    assert forest.json()["code"] == "lever-not-editable"
    assert "not editable" in forest.json()["detail"]
    no_unit = await put(client, "co2_indus", {"objective_physical": "1", "comment": "x"}, 422)
    assert no_unit.json()["code"] == "no-physical-unit"
    assert no_unit.json()["errors"][0]["loc"] == ["body", "objective_physical"]
    absent = await client.put(
        "/api/v1/panoramas/2024-07-24/regions/01/adjustments/augm_voitelec",
        json={"objective_ktco2e": "1", "comment": "x"},
        headers=identity_headers("coordinator", "01"),
    )
    assert absent.status_code == 404
    assert "overseas" not in absent.json()["detail"] and "mainland lever set" in absent.json()["detail"]
    for url in (
        f"{ADJUSTMENTS}/no_such_lever",
        "/api/v1/panoramas/2020-01-01/regions/44/adjustments/augm_voitelec",
    ):
        missing = await client.put(url, json={"objective_ktco2e": "1", "comment": "x"}, headers=COORDINATOR)
        assert missing.status_code == 404, missing.text


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (
            {"objective_ktco2e": "1", "objective_physical": "500", "comment": "x"},
            ["body", "objective_ktco2e"],
        ),
        ({"comment": "x"}, ["body", "objective_ktco2e"]),
        ({"objective_ktco2e": "-1", "comment": "x"}, ["body", "objective_ktco2e"]),
        ({"objective_physical": "5", "comment": "x"}, ["body", "objective_physical"]),  # below 2019 (7.821)
        ({"objective_ktco2e": "1.1234567", "comment": "x"}, ["body", "objective_ktco2e"]),
        ({"objective_ktco2e": "NaN", "comment": "x"}, ["body", "objective_ktco2e"]),
        ({"objective_ktco2e": "1"}, ["body", "comment"]),
        ({"objective_ktco2e": "1", "comment": "   "}, ["body", "comment"]),
        ({"objective_ktco2e": "1", "comment": "x" * 5001}, ["body", "comment"]),
        ({"objective_ktco2e": "1", "comment": "nul\u0000"}, ["body", "comment"]),
        ({"objective_ktco2e": "1", "comment": "x", "done_ktco2e": "-0.5"}, ["body", "done_ktco2e"]),
        ({"objective_ktco2e": "1", "comment": "x", "physical": "1"}, ["body", "physical"]),
    ],
)
async def test_invalid_bodies_answer_422_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], loc: list[str]
) -> None:
    response = await put(client, "augm_voitelec", body, 422)
    assert response.headers["content-type"] == "application/problem+json"
    assert loc in [error["loc"] for error in response.json()["errors"]]
