"""The région's roadmap against the levers service's real figures (the shipped SGPE panoramas): per lever
the objective, the impact of the actions by status, the gap in ktCO2e and in the lever's unit, totals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI

from planeco_shared.testing import identity_headers, read_csv_export

from .permission_matrix import covers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
OCCITANIE = identity_headers("coordinator", "76")
ANONYMOUS = identity_headers("anonymous")
CALLERS = {
    "admin": ADMIN,
    "centre": CENTRE,
    "loiret": identity_headers("coordinator", "departement:45"),
    "occitanie": OCCITANIE,
    "orleans": identity_headers("contributor", "45234"),
    "reader": identity_headers("reader"),
    "anonymous": ANONYMOUS,
}
CARS = "augm_voitelec"  # milliers de véhicules électriques dans le parc régional
BIKES = "augm_vélotc"  # an intensive unit: ktCO2e only
URL = "/api/v1/roadmaps/regions/24"


@pytest_asyncio.fixture(loop_scope="session")
async def levers(levers_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=levers_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://levers.test") as client:
        yield client


async def levers_get(levers: httpx.AsyncClient, path: str, **params: str) -> dict[str, Any]:
    response = await levers.get(path, params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def act(client: httpx.AsyncClient, impacts: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Bornes et aides à l'achat de véhicules électriques",
        "territory": {"level": "departement", "code": "45"},
        "lever_id": CARS,
        "impacts": impacts,
    } | fields
    response = await client.post("/api/v1/actions", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def lever_of(roadmap: dict[str, Any], lever_id: str) -> dict[str, Any]:
    (found,) = [lever for lever in roadmap["levers"] if lever["lever_id"] == lever_id]
    return found


async def test_the_roadmap_shows_objective_impact_and_gap_as_the_levers_service_counts_them(
    client: httpx.AsyncClient, levers: httpx.AsyncClient
) -> None:
    cars = await act(client, [{"lever_id": CARS, "physical": "5"}], status="retenue", published=True)
    await act(client, [{"lever_id": CARS, "ktco2e": "2.5"}], status="en_cours")
    await act(
        client,
        [{"lever_id": CARS, "ktco2e": "1"}, {"lever_id": BIKES, "ktco2e": "0.75"}],
        status="realisee",
        other_lever_ids=[BIKES],
    )
    await act(client, [{"lever_id": CARS, "ktco2e": "4"}], status="proposee")
    await act(client, [{"lever_id": CARS, "ktco2e": "100"}], status="abandonnee")
    await act(
        client,
        [{"lever_id": CARS, "ktco2e": "7"}],
        status="retenue",
        territory={"level": "region", "code": "76"},
    )

    response = await client.get(URL, headers=CENTRE)
    assert response.status_code == 200, response.text
    roadmap = response.json()
    panorama = await levers_get(levers, "/api/v1/panoramas/latest/regions/24")
    assert (roadmap["version"], roadmap["scope"]) == (panorama["version"], "all")
    official = {lever["lever_id"]: lever for lever in panorama["levers"]}
    assert [lever["lever_id"] for lever in roadmap["levers"]] == list(official)

    # 5 thousand electric vehicles: the ktCO2e the levers service's own conversion gives.
    factors = await levers_get(levers, f"/api/v1/levers/{CARS}/convert", region="24", ktco2e="0")
    start, ratio = Decimal(factors["start_2019"]), Decimal(factors["ratio"])
    conversion = await levers_get(
        levers, f"/api/v1/levers/{CARS}/convert", region="24", physical=str(start + 5)
    )
    five_thousand = Decimal(conversion["ktco2e"]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    assert Decimal(cars["impacts"][0]["ktco2e"]) == five_thousand

    line = lever_of(roadmap, CARS)
    objective = Decimal(official[CARS]["objective_ktco2e"])
    committed = five_thousand + Decimal("2.5") + Decimal("1")
    assert (line["objective_source"], Decimal(line["objective_ktco2e"])) == ("official", objective)
    assert Decimal(line["retenue_ktco2e"]) == five_thousand
    assert (Decimal(line["en_cours_ktco2e"]), Decimal(line["realisee_ktco2e"])) == (Decimal("2.5"), 1)
    assert Decimal(line["proposee_ktco2e"]) == 4  # apart: not in the gap
    assert Decimal(line["committed_ktco2e"]) == committed
    assert Decimal(line["gap_ktco2e"]) == objective - committed
    assert Decimal(line["gap_physical"]) == ((objective - committed) * ratio).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_EVEN
    )
    assert Decimal(line["covered_share"]) == (committed / objective).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_EVEN
    )
    assert line["unit"] == factors["unit"]
    assert len(line["actions"]) == 4  # the abandoned one and Occitanie's are not in it
    assert not any(item["other_version"] for item in line["actions"])
    bikes = lever_of(roadmap, BIKES)
    assert (Decimal(bikes["realisee_ktco2e"]), Decimal(bikes["committed_ktco2e"])) == (
        Decimal("0.75"),
        Decimal("0.75"),
    )

    # Exact: the levers add up to their sectors, the sectors to the région, whose objective is the
    # panorama's (no adjustment set).
    keys = ["objective_ktco2e", "committed_ktco2e", "proposee_ktco2e", "gap_ktco2e", "retenue_ktco2e"]
    for sector in roadmap["sectors"]:
        members = [lever for lever in roadmap["levers"] if lever["sector"] == sector["sector"]]
        for key in keys:
            assert Decimal(sector[key]) == sum(Decimal(lever[key]) for lever in members), key
    for key in keys:
        assert Decimal(roadmap["total"][key]) == sum(Decimal(sector[key]) for sector in roadmap["sectors"])
    assert Decimal(roadmap["total"]["objective_ktco2e"]) == Decimal(panorama["adjusted_total_ktco2e"])
    assert Decimal(roadmap["total"]["committed_ktco2e"]) == committed + Decimal("0.75")


@covers(
    "GET /roadmaps/regions/{code}",
    "GET /roadmaps/regions/{code}/departements/{departement}",
    "GET /roadmaps/regions/{code}/export",
    "GET /roadmaps/regions/{code}/departements/{departement}/export",
    "GET /roadmaps/regions/{code}/financing",
    "GET /roadmaps/regions/{code}/calendar",
)
async def test_anonymous_callers_and_other_regions_count_the_published_actions_only(
    client: httpx.AsyncClient,
) -> None:
    await act(
        client,
        [{"lever_id": CARS, "ktco2e": "3"}],
        status="retenue",
        published=True,
        budget_lines=[{"year": 2026, "financer": "ADEME", "amount_eur": "1000", "status": "acquis"}],
        start_date="2026-01-01",
    )
    await act(
        client,
        [{"lever_id": CARS, "ktco2e": "2"}],
        status="retenue",
        budget_lines=[{"year": 2026, "financer": "ADEME", "amount_eur": "500", "status": "acquis"}],
        start_date="2026-01-01",
    )
    # Per caller: the scope of every read of the roadmaps (all public); the région's callers count all.
    matrix = {
        "admin": "all",
        "centre": "all",
        "loiret": "all",
        "occitanie": "published",
        "orleans": "all",
        "reader": "all",
        "anonymous": "published",
    }
    counted = {"all": ("5", "1500.00", 2), "published": ("3", "1000.00", 1)}
    for name, scope in matrix.items():
        retenue, financed, running = counted[scope]
        for path in (URL, f"{URL}/departements/45"):
            response = await client.get(path, headers=CALLERS[name])
            assert response.status_code == 200, (name, path, response.text)
            assert response.json()["scope"] == scope, (name, path)
            assert Decimal(lever_of(response.json(), CARS)["retenue_ktco2e"]) == Decimal(retenue), name
            exported = await client.get(f"{path}/export", params={"format": "csv"}, headers=CALLERS[name])
            assert exported.status_code == 200, (name, path, exported.text)
            assert read_csv_export(exported.content).metadata["scope"] == [scope], (name, path)
        financing = await client.get(f"{URL}/financing", headers=CALLERS[name])
        assert financing.status_code == 200, (name, financing.text)
        assert (financing.json()["scope"], financing.json()["total"]["acquis_eur"]) == (scope, financed), name
        calendar = await client.get(f"{URL}/calendar", headers=CALLERS[name])
        assert calendar.status_code == 200, (name, calendar.text)
        (year,) = calendar.json()["years"]
        assert (calendar.json()["scope"], len(year["actions"])) == (scope, running), name


async def test_impacts_stored_at_another_version_are_shown_as_stored_and_flagged(
    client: httpx.AsyncClient,
) -> None:
    old = await act(client, [{"lever_id": CARS, "physical": "5", "version": "2023-11-14"}], status="retenue")
    latest = (await client.get(URL, params={"version": "2024-07-24"}, headers=CENTRE)).json()
    line = lever_of(latest, CARS)
    (item,) = line["actions"]
    assert (item["version"], item["other_version"], line["other_version_impacts"]) == ("2023-11-14", True, 1)
    assert item["ktco2e"] == old["impacts"][0]["ktco2e"] == line["retenue_ktco2e"]
    at_its_version = (await client.get(URL, params={"version": "2023-11-14"}, headers=CENTRE)).json()
    assert at_its_version["version"] == "2023-11-14"
    assert lever_of(at_its_version, CARS)["actions"][0]["other_version"] is False


async def test_bad_inputs_are_problems(client: httpx.AsyncClient) -> None:
    unknown = await client.get(URL, params={"version": "2020-01-01"}, headers=CENTRE)
    assert unknown.status_code == 422, unknown.text
    assert [e["loc"] for e in unknown.json()["errors"]] == [["query", "version"]]
    malformed = await client.get(URL, params={"version": "hier"}, headers=CENTRE)
    assert malformed.status_code == 422
    assert (await client.get("/api/v1/roadmaps/regions/99", headers=CENTRE)).status_code == 404
    assert (await client.get(URL, params={"page": "1"}, headers=CENTRE)).status_code == 422


async def test_a_departement_roadmap_counts_its_actions_against_its_declined_objectives(
    client: httpx.AsyncClient, levers: httpx.AsyncClient
) -> None:
    await act(client, [{"lever_id": CARS, "physical": "5"}], status="retenue")  # the Loiret itself
    await act(
        client,
        [{"lever_id": CARS, "ktco2e": "1.5"}],
        status="en_cours",
        territory={"level": "commune", "code": "45234"},
    )
    await act(
        client,
        [{"lever_id": CARS, "ktco2e": "2"}],
        status="retenue",
        territory={"level": "departement", "code": "18"},
    )
    await act(
        client,
        [{"lever_id": CARS, "ktco2e": "3"}],
        status="retenue",
        territory={"level": "region", "code": "24"},
    )

    region = (await client.get(URL, headers=CENTRE)).json()
    response = await client.get(f"{URL}/departements/45", headers=CENTRE)
    assert response.status_code == 200, response.text
    loiret = response.json()
    assert (loiret["region"], loiret["departement"], loiret["version"]) == ("24", "45", region["version"])
    declination = await levers_get(
        levers, f"/api/v1/panoramas/{region['version']}/regions/24/departements", precision="0.001"
    )
    declined = {
        lever["lever_id"]: {child["code"]: Decimal(child["objective_ktco2e"]) for child in lever["children"]}
        for lever in declination["levers"]
    }
    line = lever_of(loiret, CARS)
    assert Decimal(line["objective_ktco2e"]) == declined[CARS]["45"]
    region_line = lever_of(region, CARS)
    assert Decimal(line["committed_ktco2e"]) == Decimal(region_line["retenue_ktco2e"]) - 5 + Decimal("1.5")
    assert {item["territory_code"] for item in line["actions"]} == {"45", "45234"}
    ratio = Decimal(region_line["ratio"])
    assert Decimal(line["gap_physical"]) == (Decimal(line["gap_ktco2e"]) * ratio).quantize(
        Decimal("0.001"), rounding=ROUND_HALF_EVEN
    )
    assert lever_of(loiret, BIKES)["gap_physical"] is None  # an intensity is not declined
    # Every département together: their objectives are the région's declined, their actions all those
    # located in one (the région-wide action is in none).
    committed = Decimal(0)
    for code in sorted(declined[CARS]):
        part = (await client.get(f"{URL}/departements/{code}", headers=CENTRE)).json()
        committed += Decimal(lever_of(part, CARS)["committed_ktco2e"])
        assert Decimal(part["total"]["objective_ktco2e"]) == sum(
            (figures[code] for figures in declined.values()), Decimal(0)
        )
    assert committed == Decimal(region_line["committed_ktco2e"]) - 3

    assert (await client.get(f"{URL}/departements/34", headers=CENTRE)).status_code == 404
    assert (await client.get(f"{URL}/departements/2A", headers=CENTRE)).status_code == 404
    anonymous = (await client.get(f"{URL}/departements/45", headers=ANONYMOUS)).json()
    assert (anonymous["scope"], lever_of(anonymous, CARS)["actions"]) == ("published", [])


async def test_a_regions_adjusted_objective_is_the_one_in_use_and_said_so(
    client: httpx.AsyncClient, levers: httpx.AsyncClient
) -> None:
    # Hauts-de-France sets its own objective for electric cars (in the levers service, whose data the
    # session shares: withdrawn at the end).
    item = f"/api/v1/panoramas/2024-07-24/regions/32/adjustments/{CARS}"
    put = await levers.put(
        item,
        json={"objective_ktco2e": "900.5", "comment": "SRADDET"},
        headers=identity_headers("coordinator", "32"),
    )
    assert put.status_code == 201, put.text
    try:
        await act(
            client,
            [{"lever_id": CARS, "ktco2e": "10"}],
            status="retenue",
            territory={"level": "departement", "code": "59"},
        )
        roadmap = (
            await client.get("/api/v1/roadmaps/regions/32", params={"version": "2024-07-24"}, headers=ADMIN)
        ).json()
        panorama = await levers_get(levers, "/api/v1/panoramas/2024-07-24/regions/32")
        official = {lever["lever_id"]: lever for lever in panorama["levers"]}
        line = lever_of(roadmap, CARS)
        assert (line["objective_source"], line["objective_ktco2e"]) == ("adjusted", "900.5")
        assert Decimal(line["official_objective_ktco2e"]) == Decimal(official[CARS]["objective_ktco2e"])
        assert Decimal(line["gap_ktco2e"]) == Decimal("890.5")
        assert {lever["objective_source"] for lever in roadmap["levers"] if lever["lever_id"] != CARS} == {
            "official"
        }
        assert Decimal(roadmap["total"]["objective_ktco2e"]) == Decimal(panorama["adjusted_total_ktco2e"])

        nord = (
            await client.get(
                "/api/v1/roadmaps/regions/32/departements/59", params={"version": "2024-07-24"}, headers=ADMIN
            )
        ).json()
        declined = await levers_get(
            levers,
            "/api/v1/panoramas/2024-07-24/regions/32/departements",
            precision="0.001",
            basis="adjusted",
            lever_id=CARS,
        )
        (cars,) = declined["levers"]
        (share,) = [child for child in cars["children"] if child["code"] == "59"]
        nord_line = lever_of(nord, CARS)
        assert (nord_line["objective_source"], Decimal(nord_line["objective_ktco2e"])) == (
            "adjusted",
            Decimal(share["objective_ktco2e"]),
        )
        assert Decimal(nord_line["committed_ktco2e"]) == 10
    finally:
        etag = (await levers.get(item, headers=ADMIN)).json()["etag"]
        withdrawn = await levers.delete(
            item, headers=identity_headers("coordinator", "32") | {"if-match": etag}
        )
        assert withdrawn.status_code == 204, withdrawn.text


async def test_on_track_compares_a_straight_path_with_what_is_reached(client: httpx.AsyncClient) -> None:
    async def report(action: dict[str, Any], **body: Any) -> None:
        url = f"/api/v1/actions/{action['id']}/progress-updates"
        response = await client.post(url, json=body, headers=CENTRE)
        assert response.status_code == 201, response.text

    done = await act(client, [{"lever_id": CARS, "ktco2e": "1"}], status="realisee")
    cars = await act(client, [{"lever_id": CARS, "physical": "5"}], status="en_cours")
    await report(cars, reported_on="2026-01-15", percent_done="90")  # older: not the one used
    await report(cars, reported_on="2026-04-15", percent_done="30", indicator_value="2")
    quarter = await act(client, [{"lever_id": CARS, "ktco2e": "4"}], status="retenue")
    await report(quarter, reported_on="2026-04-01", percent_done="25")
    await act(client, [{"lever_id": CARS, "ktco2e": "8"}], status="retenue")  # no update: nothing reached

    roadmap = (await client.get(URL, params={"year": "2026"}, headers=CENTRE)).json()
    assert roadmap["year"] == 2026 and "2019" in roadmap["path"]
    line = lever_of(roadmap, CARS)
    objective = Decimal(line["objective_ktco2e"])
    assert Decimal(line["expected_ktco2e"]) == (objective * 7 / 11).quantize(
        Decimal("0.0001"), rounding=ROUND_HALF_EVEN
    )
    ratio = Decimal(cars["impacts"][0]["ratio"])
    by_cars = (Decimal(2) / ratio).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    reached = {item["action_id"]: Decimal(item["reached_ktco2e"]) for item in line["actions"]}
    assert reached[done["id"]] == 1 and reached[cars["id"]] == by_cars and reached[quarter["id"]] == 1
    assert Decimal(line["reached_ktco2e"]) == 2 + by_cars
    assert line["on_track"] is (Decimal(line["reached_ktco2e"]) >= Decimal(line["expected_ktco2e"]))
    (latest,) = [item["latest_progress"] for item in line["actions"] if item["action_id"] == cars["id"]]
    assert (latest["reported_on"], latest["indicator_value"]) == ("2026-04-15", "2.000")
    for key in ("expected_ktco2e", "reached_ktco2e"):
        assert Decimal(roadmap["total"][key]) == sum(Decimal(lever[key]) for lever in roadmap["levers"])
        for sector in roadmap["sectors"]:
            members = [lever for lever in roadmap["levers"] if lever["sector"] == sector["sector"]]
            assert Decimal(sector[key]) == sum(Decimal(lever[key]) for lever in members)

    # The path starts at 0 in 2019 and ends at the objective in 2030.
    start = (await client.get(URL, params={"year": "2019"}, headers=CENTRE)).json()
    assert Decimal(lever_of(start, CARS)["expected_ktco2e"]) == 0 and start["total"]["on_track"] is True
    end = (await client.get(URL, params={"year": "2035"}, headers=CENTRE)).json()
    assert Decimal(lever_of(end, CARS)["expected_ktco2e"]) == objective
    # An update that says the action is done moves it: all its impact is reached.
    await report(quarter, reported_on="2026-05-01", percent_done="100", status="realisee")
    after = lever_of((await client.get(URL, params={"year": "2026"}, headers=CENTRE)).json(), CARS)
    assert Decimal(after["reached_ktco2e"]) == 5 + by_cars
    assert Decimal(after["realisee_ktco2e"]) == 5
    assert (await client.get(URL, params={"year": "2018"}, headers=CENTRE)).status_code == 422


async def test_the_financing_view_sums_budget_lines_per_year_lever_financer_and_status(
    client: httpx.AsyncClient,
) -> None:
    def line(year: int, financer: str, amount: str, status: str) -> dict[str, Any]:
        return {"year": year, "financer": financer, "amount_eur": amount, "status": status}

    await act(
        client,
        [],
        status="retenue",
        published=True,
        budget_lines=[
            line(2026, "Région Centre-Val de Loire", "150000.10", "acquis"),
            line(2026, "ADEME", "50000", "planifie"),
            line(2027, "Région Centre-Val de Loire", "100000", "planifie"),
        ],
    )
    await act(
        client,
        [],
        lever_id=BIKES,
        status="en_cours",
        budget_lines=[line(2026, "Région  Centre-Val de Loire", "0.90", "acquis")],
    )
    await act(client, [], status="abandonnee", budget_lines=[line(2026, "ADEME", "999", "acquis")])

    response = await client.get(f"{URL}/financing", headers=CENTRE)
    assert response.status_code == 200, response.text
    view = response.json()
    cells = [
        (c["year"], c["lever_id"], c["financer"], c["planifie_eur"], c["acquis_eur"]) for c in view["cells"]
    ]
    assert cells == [
        (2026, CARS, "ADEME", "50000.00", "0.00"),
        (2026, CARS, "Région Centre-Val de Loire", "0.00", "150000.10"),
        (2026, BIKES, "Région Centre-Val de Loire", "0.00", "0.90"),
        (2027, CARS, "Région Centre-Val de Loire", "100000.00", "0.00"),
    ]
    assert [(y["year"], y["total_eur"]) for y in view["by_year"]] == [
        (2026, "200001.00"),
        (2027, "100000.00"),
    ]
    assert [(f["financer"], f["acquis_eur"]) for f in view["by_financer"]] == [
        ("ADEME", "0.00"),
        ("Région Centre-Val de Loire", "150001.00"),
    ]
    assert view["total"] == {"planifie_eur": "150000.00", "acquis_eur": "150001.00", "total_eur": "300001.00"}
    assert sum(Decimal(lever["total_eur"]) for lever in view["by_lever"]) == Decimal("300001.00")

    published = (await client.get(f"{URL}/financing", headers=ANONYMOUS)).json()
    assert (published["scope"], published["total"]["total_eur"]) == ("published", "300000.10")
    assert (await client.get("/api/v1/roadmaps/regions/99/financing", headers=CENTRE)).status_code == 404


async def test_the_calendar_lists_per_year_the_actions_running_and_their_phases(
    client: httpx.AsyncClient,
) -> None:
    spanning = await act(
        client,
        [],
        status="en_cours",
        start_date="2025-09-01",
        end_date="2027-06-30",
        phases=[
            {"kind": "phase", "label": "Études", "start_date": "2025-09-01", "end_date": "2026-02-28"},
            {"kind": "jalon", "label": "Appel d'offres", "start_date": "2026-03-15"},
        ],
    )
    milestones = await act(
        client,
        [],
        status="retenue",
        phases=[{"kind": "jalon", "label": "Lancement", "start_date": "2026-10-01"}],
    )
    undated = await act(client, [], status="retenue")
    await act(client, [], status="abandonnee", start_date="2026-01-01", end_date="2026-12-31")

    response = await client.get(f"{URL}/calendar", headers=CENTRE)
    assert response.status_code == 200, response.text
    view = response.json()
    years = {year["year"]: year["actions"] for year in view["years"]}
    assert sorted(years) == [2025, 2026, 2027]
    assert [item["action_id"] for item in years[2025]] == [spanning["id"]]
    assert [item["label"] for item in years[2025][0]["phases"]] == ["Études"]
    in_2026 = {item["action_id"]: [phase["label"] for phase in item["phases"]] for item in years[2026]}
    assert in_2026 == {spanning["id"]: ["Études", "Appel d'offres"], milestones["id"]: ["Lancement"]}
    assert years[2027][0]["phases"] == []
    assert [item["action_id"] for item in view["undated"]] == [undated["id"]]
    anonymous = (await client.get(f"{URL}/calendar", headers=ANONYMOUS)).json()
    assert (anonymous["scope"], anonymous["years"], anonymous["undated"]) == ("published", [], [])
    assert (await client.get("/api/v1/roadmaps/regions/99/calendar", headers=CENTRE)).status_code == 404
