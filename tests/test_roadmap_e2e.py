"""The roadmap of a COP end to end, through the real gateway to the real services on loopback: a
Centre-Val de Loire coordinator imports the région's roadmap file, and the roadmap's figures are the levers
service's own (an electric-vehicle action entered in thousands of vehicles); the same file sent again
changes nothing; a contributor's action proposal is accepted; a working group's proposal (from Orléans
Métropole) is promoted to an action, both keeping the link; progress updates move what is reached and,
giving an action up, the gap; the published snapshot stays as it was after later edits; and a coordinator
of another région writes none of it (the file import included).

Other tests of the session write actions of the région too: the figures are checked as they move."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest

CARS = "augm_voitelec"  # milliers de véhicules électriques dans le parc régional
HEAT = "reduc_chal"  # réseaux de chaleur décarbonés
HEDGES = "augm_haies"  # gestion des haies
ROADMAP = "/api/v1/roadmaps/regions/24"
ORLEANS = "244500468"  # Orléans Métropole
VERSION = "2024-07-24"
TENTH_THOUSANDTH = Decimal("0.0001")
GROUPS = "/api/v1/debates/working-groups"
PROPOSALS = "/api/v1/debates/proposals"
STATUSES = ("realisee", "en_cours", "retenue", "proposee")
COUNTED = ("realisee", "en_cours", "retenue")
FILE_HEADER = (
    "external_id;title;territory;lever_id;status;published;budget_lines;impact_value;impact_unit;"
    "impact_version"
)


async def read(http: httpx.AsyncClient, path: str, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = await http.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def lever_of(roadmap: dict[str, Any], lever_id: str) -> dict[str, Any]:
    (found,) = [lever for lever in roadmap["levers"] if lever["lever_id"] == lever_id]
    return found


def figure(roadmap: dict[str, Any], key: str, lever_id: str = CARS) -> Decimal:
    return Decimal(lever_of(roadmap, lever_id)[key])


def entry(roadmap: dict[str, Any], lever_id: str, **match: str) -> dict[str, Any]:
    """The one action of the lever's list whose fields are `match`."""
    (found,) = [
        item
        for item in lever_of(roadmap, lever_id)["actions"]
        if all(item[key] == value for key, value in match.items())
    ]
    return found


def roadmap_file(rows: list[dict[str, str]]) -> bytes:
    """A roadmap file as a regional system sends it: CSV, `;`, the import's columns."""
    lines = [FILE_HEADER] + [";".join(row[column] for column in FILE_HEADER.split(";")) for row in rows]
    return ("\n".join(lines) + "\n").encode()


async def send_file(http: httpx.AsyncClient, content: bytes, headers: dict[str, str]) -> httpx.Response:
    return await http.post(
        "/api/v1/actions/imports", content=content, headers=headers | {"content-type": "text/csv"}
    )


def assert_as_the_levers_service_counts(roadmap: dict[str, Any], panorama: dict[str, Any]) -> None:
    """Per lever, the objective is the panorama's (the région's adjusted one where it set one), the gap
    is objective − committed and reads in the lever's unit with the panorama's ratio; the levers add up
    to the région's total."""
    official = {lever["lever_id"]: lever for lever in panorama["levers"]}
    assert [lever["lever_id"] for lever in roadmap["levers"]] == list(official)
    for line in roadmap["levers"]:
        source = official[line["lever_id"]]
        objective = Decimal(
            source["adjusted"]["objective_ktco2e"] if source["adjusted"] else source["objective_ktco2e"]
        )
        assert line["objective_source"] == ("adjusted" if source["adjusted"] else "official")
        assert Decimal(line["objective_ktco2e"]) == objective
        assert Decimal(line["official_objective_ktco2e"]) == Decimal(source["objective_ktco2e"])
        committed = sum((Decimal(line[f"{status}_ktco2e"]) for status in COUNTED), Decimal(0))
        assert Decimal(line["committed_ktco2e"]) == committed
        gap = objective - committed
        assert Decimal(line["gap_ktco2e"]) == gap
        ratio = Decimal(source["ratio"])
        assert Decimal(line["ratio"]) == ratio
        if source["has_physical_unit"]:
            assert Decimal(line["gap_physical"]) == (gap * ratio).quantize(
                Decimal("0.001"), rounding=ROUND_HALF_EVEN
            )
        else:
            assert line["gap_physical"] is None
    for key in ("objective_ktco2e", "committed_ktco2e", "proposee_ktco2e", "gap_ktco2e"):
        assert Decimal(roadmap["total"][key]) == sum(Decimal(lever[key]) for lever in roadmap["levers"])


@pytest.mark.asyncio(loop_scope="session")
async def test_a_regional_roadmap_through_the_gateway(gateway: str, make_key: Any) -> None:
    centre = {"X-API-Key": await make_key("coordinator", "24")}
    occitanie = {"X-API-Key": await make_key("coordinator", "76")}
    orleans = {"X-API-Key": await make_key("contributor", ORLEANS)}
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as http:
        before = await read(http, ROADMAP, centre, version=VERSION)
        panorama = await read(http, f"/api/v1/panoramas/{VERSION}/regions/24", centre)
        assert_as_the_levers_service_counts(before, panorama)

        # 12 thousand electric vehicles in the Loiret: the ktCO2e of the levers service's own conversion.
        factors = await read(
            http, f"/api/v1/levers/{CARS}/convert", centre, region="24", ktco2e="0", version=VERSION
        )
        start = Decimal(factors["start_2019"])
        converted = await read(
            http,
            f"/api/v1/levers/{CARS}/convert",
            centre,
            region="24",
            physical=str(start + 12),
            version=VERSION,
        )
        expected = Decimal(converted["ktco2e"]).quantize(TENTH_THOUSANDTH, rounding=ROUND_HALF_EVEN)

        # The coordinator imports the région's roadmap file: four actions, on the région, two
        # départements and Orléans Métropole, one per status, one of them entered in vehicles.
        rows = [
            {
                "external_id": "CVL-FDR-01",
                "title": "Aides à l'achat et bornes pour 12 000 véhicules électriques",
                "territory": "departement:45",
                "lever_id": CARS,
                "status": "retenue",
                "published": "true",
                "budget_lines": "2026:Région Centre-Val de Loire:1500000:acquis|2027:ADEME:500000:planifie",
                "impact_value": "12",
                "impact_unit": "physical",
            },
            {
                "external_id": "CVL-FDR-02",
                "title": "Extension des réseaux de chaleur renouvelable des villes moyennes",
                "territory": "region:24",
                "lever_id": HEAT,
                "status": "en_cours",
                "published": "true",
                "budget_lines": "2026:Région Centre-Val de Loire:800000:acquis",
                "impact_value": "3.25",
                "impact_unit": "ktco2e",
            },
            {
                "external_id": "CVL-FDR-03",
                "title": "Plantation de haies bocagères dans le Cher",
                "territory": "departement:18",
                "lever_id": HEDGES,
                "status": "realisee",
                "published": "false",
                "budget_lines": "",
                "impact_value": "0.4",
                "impact_unit": "ktco2e",
            },
            {
                "external_id": "CVL-FDR-04",
                "title": "Réseau de chaleur de la métropole orléanaise",
                "territory": f"epci:{ORLEANS}",
                "lever_id": HEAT,
                "status": "proposee",
                "published": "false",
                "budget_lines": "",
                "impact_value": "1.1",
                "impact_unit": "ktco2e",
            },
        ]
        content = roadmap_file([row | {"impact_version": VERSION} for row in rows])
        # Another région's coordinator may not send it (every row is outside its territory), nor may a
        # contributor (coordinators import): nothing is written.
        refused_import = await send_file(http, content, occitanie)
        assert refused_import.status_code == 403, refused_import.text
        assert [error["loc"] for error in refused_import.json()["errors"]] == [
            ["row", number, "territory"] for number in range(2, 2 + len(rows))
        ]
        assert (await send_file(http, content, orleans)).status_code == 403
        imported = await send_file(http, content, centre)
        assert imported.status_code == 200, imported.text
        assert imported.json() == {"rows": 4, "created": 4, "updated": 0, "unchanged": 0, "restored": 0}

        after = await read(http, ROADMAP, centre, version=VERSION)
        assert_as_the_levers_service_counts(after, panorama)
        cars_item = entry(after, CARS, title=rows[0]["title"])
        assert (Decimal(cars_item["ktco2e"]), Decimal(cars_item["physical"])) == (expected, 12)
        assert (cars_item["version"], cars_item["other_version"]) == (VERSION, False)
        assert (cars_item["territory_level"], cars_item["territory_code"]) == ("departement", "45")
        # Per lever and status, the roadmap moved by exactly the file's impacts; the gap by the committed.
        moved_by: dict[str, dict[str, Decimal]] = defaultdict(lambda: dict.fromkeys(STATUSES, Decimal(0)))
        for row in rows:
            impact = expected if row["impact_unit"] == "physical" else Decimal(row["impact_value"])
            moved_by[row["lever_id"]][row["status"]] += impact
            item = entry(after, row["lever_id"], title=row["title"])
            assert (item["status"], Decimal(item["ktco2e"])) == (row["status"], impact)
        for lever_id, by_status in moved_by.items():
            for status, impact in by_status.items():
                key = f"{status}_ktco2e"
                assert figure(after, key, lever_id) - figure(before, key, lever_id) == impact, (lever_id, key)
            committed = sum((by_status[status] for status in COUNTED), Decimal(0))
            assert figure(before, "gap_ktco2e", lever_id) - figure(after, "gap_ktco2e", lever_id) == committed
            assert figure(after, "objective_ktco2e", lever_id) == figure(before, "objective_ktco2e", lever_id)

        # The regional system sends its file again: nothing changes.
        again = await send_file(http, content, centre)
        assert again.status_code == 200, again.text
        assert again.json() == {"rows": 4, "created": 0, "updated": 0, "unchanged": 4, "restored": 0}
        assert await read(http, ROADMAP, centre, version=VERSION) == after
        refused = await http.post(
            "/api/v1/actions",
            json={"title": rows[0]["title"], "territory": {"level": "departement", "code": "45"}},
            headers=occitanie,
        )
        assert refused.status_code == 403, refused.text  # nor one action
        cars = await read(http, f"/api/v1/actions/{cars_item['action_id']}", centre)
        assert (cars["external_id"], Decimal(cars["impacts"][0]["ktco2e"])) == ("CVL-FDR-01", expected)

        # Orléans Métropole proposes an action (counted apart); the coordinator accepts it.
        proposal = await http.post(
            "/api/v1/actions",
            json={
                "title": "Flotte de bus électriques de la métropole",
                "territory": {"level": "epci", "code": ORLEANS},
                "lever_id": CARS,
                "impacts": [{"lever_id": CARS, "ktco2e": "1.5", "version": VERSION}],
            },
            headers=orleans,
        )
        assert proposal.status_code == 201, proposal.text
        assert proposal.json()["status"] == "proposee"
        proposed = await read(http, ROADMAP, centre, version=VERSION)
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
        retained = await read(http, ROADMAP, centre, version=VERSION)
        assert figure(after, "gap_ktco2e") - figure(retained, "gap_ktco2e") == Decimal("1.5")

        # A working group's proposal, from Orléans Métropole, promoted to an action by the coordinator:
        # the action names the proposal, the proposal the action.
        orleans_member = {"kind": "collectivite", "territory": {"level": "epci", "code": ORLEANS}}
        group_body = {
            "owner": {"level": "region", "code": "24"},
            "name": "Se déplacer autrement",
            "theme": "mobilité",
            "lever_ids": [CARS],
            "members": [orleans_member | {"role": "rapporteur"}],
        }
        assert (await http.post(GROUPS, json=group_body, headers=occitanie)).status_code == 403
        group = await http.post(GROUPS, json=group_body, headers=centre)
        assert group.status_code == 201, group.text
        group_url = f"{GROUPS}/{group.json()['id']}"
        meeting = await http.post(
            f"{group_url}/meetings",
            json={"date": "2026-03-12", "synthesis": "Partager les véhicules électriques des communes."},
            headers=centre,
        )
        assert meeting.status_code == 201, meeting.text
        idea_body = {
            "title": "Autopartage de véhicules électriques dans les communes de la métropole",
            "lever_ids": [CARS],
            "meeting_id": meeting.json()["id"],
            "proposer": orleans_member,
        }
        for caller, status in ((occitanie, 404), (orleans, 403)):
            denied = await http.post(f"{group_url}/proposals", json=idea_body, headers=caller)
            assert denied.status_code == status, denied.text
        recorded = await http.post(f"{group_url}/proposals", json=idea_body, headers=centre)
        assert recorded.status_code == 201, recorded.text
        idea = recorded.json()
        assert (idea["proposer"]["territory"]["code"], idea["action_id"]) == (ORLEANS, None)
        promote = f"{PROPOSALS}/{idea['id']}/promote"
        for caller, status in ((occitanie, 404), (orleans, 403)):
            denied = await http.post(
                promote, json={"status": "retenue"}, headers=caller | {"If-Match": recorded.headers["etag"]}
            )
            assert denied.status_code == status, denied.text
        promoted = await http.post(
            promote, json={"status": "retenue"}, headers=centre | {"If-Match": recorded.headers["etag"]}
        )
        assert promoted.status_code == 201, promoted.text
        chosen = promoted.json()
        assert (chosen["proposal_id"], chosen["title"], chosen["status"]) == (
            idea["id"],
            idea_body["title"],
            "retenue",
        )
        assert (await read(http, f"/api/v1/actions/{chosen['id']}", centre))["proposal_id"] == idea["id"]
        linked = await read(http, f"{PROPOSALS}/{idea['id']}", centre)
        assert (linked["status"], linked["action_id"]) == ("promue", chosen["id"])
        # In the roadmap among the retained actions; counted once its impact is entered.
        listed = await read(http, ROADMAP, centre, version=VERSION)
        assert entry(listed, CARS, action_id=chosen["id"])["ktco2e"] is None
        assert figure(listed, "gap_ktco2e") == figure(retained, "gap_ktco2e")
        impact = {"impacts": [{"lever_id": CARS, "ktco2e": "0.8", "version": VERSION}]}
        for caller, status in ((occitanie, 404), (centre, 200)):
            patched = await http.patch(
                f"/api/v1/actions/{chosen['id']}",
                json=impact,
                headers=caller | {"If-Match": promoted.headers["etag"]},
            )
            assert patched.status_code == status, patched.text
        counted = await read(http, ROADMAP, centre, version=VERSION)
        assert Decimal(entry(counted, CARS, action_id=chosen["id"])["ktco2e"]) == Decimal("0.8")
        assert figure(counted, "retenue_ktco2e") - figure(retained, "retenue_ktco2e") == Decimal("0.8")
        assert figure(retained, "gap_ktco2e") - figure(counted, "gap_ktco2e") == Decimal("0.8")
        assert_as_the_levers_service_counts(counted, panorama)

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
        # A progress update that gives an action up moves the gap by exactly its impact.
        given_up = await http.post(
            f"/api/v1/actions/{chosen['id']}/progress-updates",
            json={
                "reported_on": "2026-06-30",
                "status": "abandonnee",
                "percent_done": "0",
                "comment": "Pas de foncier disponible pour les bornes",
            },
            headers=centre,
        )
        assert given_up.status_code == 201, given_up.text
        moved = await read(http, ROADMAP, centre, version=VERSION, year="2026")
        assert figure(moved, "gap_ktco2e") - figure(counted, "gap_ktco2e") == Decimal("0.8")
        assert figure(counted, "retenue_ktco2e") - figure(moved, "retenue_ktco2e") == expected + Decimal(
            "0.8"
        )
        ratio = Decimal(cars["impacts"][0]["ratio"])
        (item,) = [a for a in lever_of(moved, CARS)["actions"] if a["action_id"] == cars["id"]]
        assert item["status"] == "en_cours"
        assert Decimal(item["reached_ktco2e"]) == (Decimal(3) / ratio).quantize(
            TENTH_THOUSANDTH, rounding=ROUND_HALF_EVEN
        )
        assert figure(moved, "en_cours_ktco2e") - figure(retained, "en_cours_ktco2e") == expected

        # Publishing freezes the public roadmap: later edits change the live read, never the publication.
        publications = "/api/v1/roadmaps/regions/24/publications"
        body = {"version": VERSION, "year": 2026}
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
            json={"impacts": [{"lever_id": CARS, "physical": "20", "version": VERSION}]},
            headers=centre | {"If-Match": current.headers["etag"]},
        )
        assert edited.status_code == 200, edited.text
        live = await read(http, ROADMAP, centre, version=VERSION)
        assert figure(live, "en_cours_ktco2e") > figure(moved, "en_cours_ktco2e")
        again = await http.get(f"{publications}/{number}/snapshot")
        assert again.content == snapshot.content
        assert again.headers["etag"] == snapshot.headers["etag"]
        assert (
            await http.get(f"{publications}/{number}/export", params={"resource": "levers", "format": "csv"})
        ).content == exported.content
