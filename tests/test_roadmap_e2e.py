"""The roadmap of a COP end to end, through the real gateway to the real services on loopback: a
Centre-Val de Loire coordinator's actions, the roadmap's figures against the levers service's own (an
electric-vehicle action entered in thousands of vehicles), a contributor's proposal accepted, a progress
update moving what is reached, and a coordinator of another région writing none of it.

Other tests of the session write actions of the région too: the figures are checked as they move."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest

CARS = "augm_voitelec"  # milliers de véhicules électriques dans le parc régional
ROADMAP = "/api/v1/roadmaps/regions/24"
ORLEANS = "244500468"  # Orléans Métropole
TENTH_THOUSANDTH = Decimal("0.0001")


async def read(http: httpx.AsyncClient, path: str, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await http.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def lever_of(roadmap: dict[str, Any], lever_id: str) -> dict[str, Any]:
    (found,) = [lever for lever in roadmap["levers"] if lever["lever_id"] == lever_id]
    return found


def figure(roadmap: dict[str, Any], key: str) -> Decimal:
    return Decimal(lever_of(roadmap, CARS)[key])


@pytest.mark.asyncio(loop_scope="session")
async def test_a_regional_roadmap_through_the_gateway(gateway: str, make_key: Any) -> None:
    centre = {"X-API-Key": await make_key("coordinator", "24")}
    occitanie = {"X-API-Key": await make_key("coordinator", "76")}
    orleans = {"X-API-Key": await make_key("contributor", ORLEANS)}
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as http:
        before = await read(http, ROADMAP, centre, version="2024-07-24")
        panorama = await read(http, "/api/v1/panoramas/2024-07-24/regions/24", centre)
        official = {lever["lever_id"]: lever for lever in panorama["levers"]}
        assert [lever["lever_id"] for lever in before["levers"]] == list(official)
        line = lever_of(before, CARS)
        assert line["objective_source"] in ("official", "adjusted")
        if line["objective_source"] == "official":
            assert Decimal(line["objective_ktco2e"]) == Decimal(official[CARS]["objective_ktco2e"])

        # 12 thousand electric vehicles in the Loiret: the ktCO2e of the levers service's own conversion.
        factors = await read(
            http, f"/api/v1/levers/{CARS}/convert", centre, region="24", ktco2e="0", version="2024-07-24"
        )
        start = Decimal(factors["start_2019"])
        converted = await read(
            http,
            f"/api/v1/levers/{CARS}/convert",
            centre,
            region="24",
            physical=str(start + 12),
            version="2024-07-24",
        )
        expected = Decimal(converted["ktco2e"]).quantize(TENTH_THOUSANDTH, rounding=ROUND_HALF_EVEN)
        action = {
            "title": "Aides à l'achat et bornes pour 12 000 véhicules électriques",
            "territory": {"level": "departement", "code": "45"},
            "lever_id": CARS,
            "status": "retenue",
            "published": True,
            "impacts": [{"lever_id": CARS, "physical": "12", "version": "2024-07-24"}],
        }
        refused = await http.post("/api/v1/actions", json=action, headers=occitanie)
        assert refused.status_code in (403, 404), refused.text  # another région's coordinator writes nothing
        created = await http.post("/api/v1/actions", json=action, headers=centre)
        assert created.status_code == 201, created.text
        cars = created.json()
        assert Decimal(cars["impacts"][0]["ktco2e"]) == expected
        after = await read(http, ROADMAP, centre, version="2024-07-24")
        assert figure(after, "retenue_ktco2e") - figure(before, "retenue_ktco2e") == expected
        assert figure(before, "gap_ktco2e") - figure(after, "gap_ktco2e") == expected
        for key in ("committed_ktco2e", "gap_ktco2e"):
            assert Decimal(after["total"][key]) == sum(Decimal(lever[key]) for lever in after["levers"])

        # Orléans Métropole proposes an action (counted apart); the coordinator accepts it.
        proposal = await http.post(
            "/api/v1/actions",
            json={
                "title": "Flotte de bus électriques de la métropole",
                "territory": {"level": "epci", "code": ORLEANS},
                "lever_id": CARS,
                "impacts": [{"lever_id": CARS, "ktco2e": "1.5", "version": "2024-07-24"}],
            },
            headers=orleans,
        )
        assert proposal.status_code == 201, proposal.text
        assert proposal.json()["status"] == "proposee"
        proposed = await read(http, ROADMAP, centre, version="2024-07-24")
        assert figure(proposed, "proposee_ktco2e") - figure(after, "proposee_ktco2e") == Decimal("1.5")
        assert figure(proposed, "gap_ktco2e") == figure(after, "gap_ktco2e")
        accepted = await http.patch(
            f"/api/v1/actions/{proposal.json()['id']}",
            json={"status": "retenue"},
            headers=centre | {"If-Match": proposal.headers["etag"]},
        )
        assert accepted.status_code == 200, accepted.text
        hijack = await http.patch(
            f"/api/v1/actions/{proposal.json()['id']}",
            json={"status": "abandonnee"},
            headers=occitanie | {"If-Match": accepted.headers["etag"]},
        )
        assert hijack.status_code in (403, 404), hijack.text
        retained = await read(http, ROADMAP, centre, version="2024-07-24")
        assert figure(after, "gap_ktco2e") - figure(retained, "gap_ktco2e") == Decimal("1.5")

        # A progress update: 3 thousand vehicles on the road; what is reached moves by their ktCO2e.
        update = await http.post(
            f"/api/v1/actions/{cars['id']}/progress-updates",
            json={
                "reported_on": "2026-06-30",
                "status": "en_cours",
                "percent_done": "25",
                "indicator_value": "3",
            },
            headers=centre,
        )
        assert update.status_code == 201, update.text
        other = await http.post(
            f"/api/v1/actions/{cars['id']}/progress-updates",
            json={"reported_on": "2026-06-30", "percent_done": "90"},
            headers=occitanie,
        )
        assert other.status_code in (403, 404), other.text
        moved = await read(http, ROADMAP, centre, version="2024-07-24", year="2026")
        ratio = Decimal(cars["impacts"][0]["ratio"])
        (item,) = [a for a in lever_of(moved, CARS)["actions"] if a["action_id"] == cars["id"]]
        assert item["status"] == "en_cours"
        assert Decimal(item["reached_ktco2e"]) == (Decimal(3) / ratio).quantize(
            TENTH_THOUSANDTH, rounding=ROUND_HALF_EVEN
        )
        assert figure(moved, "en_cours_ktco2e") - figure(retained, "en_cours_ktco2e") == expected

        # Publishing freezes the public roadmap: later edits change the live read, never the publication.
        publications = "/api/v1/roadmaps/regions/24/publications"
        body = {"version": "2024-07-24", "year": 2026}
        assert (await http.post(publications, json=body, headers=occitanie)).status_code == 404
        assert (await http.post(publications, json=body, headers=orleans)).status_code == 403
        published = await http.post(publications, json=body, headers=centre)
        assert published.status_code == 201, published.text
        number = published.json()["number"]
        snapshot = await http.get(f"{publications}/{number}/snapshot")  # public: no credentials
        assert snapshot.status_code == 200, snapshot.text
        (frozen,) = [a for a in lever_of(snapshot.json(), CARS)["actions"] if a["action_id"] == cars["id"]]
        assert Decimal(frozen["ktco2e"]) == expected
        exported = await http.get(
            f"{publications}/{number}/export", params={"resource": "levers", "format": "csv"}
        )
        assert exported.status_code == 200, exported.text
        assert "Licence Ouverte" in exported.content.decode("utf-8-sig")
        package = await http.get(f"{publications}/{number}/datapackage.json")
        assert package.status_code == 200, package.text
        assert package.json()["licenses"][0]["name"] == "etalab-2.0"

        current = await http.get(f"/api/v1/actions/{cars['id']}", headers=centre)
        edited = await http.patch(
            f"/api/v1/actions/{cars['id']}",
            json={"impacts": [{"lever_id": CARS, "physical": "20", "version": "2024-07-24"}]},
            headers=centre | {"If-Match": current.headers["etag"]},
        )
        assert edited.status_code == 200, edited.text
        live = await read(http, ROADMAP, centre, version="2024-07-24")
        assert figure(live, "en_cours_ktco2e") > figure(moved, "en_cours_ktco2e")
        again = await http.get(f"{publications}/{number}/snapshot")
        assert again.content == snapshot.content
        assert again.headers["etag"] == snapshot.headers["etag"]
        assert (
            await http.get(f"{publications}/{number}/export", params={"resource": "levers", "format": "csv"})
        ).content == exported.content
