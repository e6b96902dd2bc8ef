"""The COP action model: a territory of any level, carriers and partners, criteria, calendar and phases,
budget lines, documents, external ids; what a write checks and what it stores."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from planeco_actions.actions.models import Action
from planeco_actions.actions.service import funding_target
from planeco_shared.scopes import Level
from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
OCCITANIE = identity_headers("coordinator", "76")
LOIRET = identity_headers("coordinator", "departement:45")

BASE: dict[str, Any] = {"title": "Plan vélo de la métropole", "lever_id": "augm_vélotc"}


def on(level: str, code: str, **fields: Any) -> dict[str, Any]:
    return BASE | {"territory": {"level": level, "code": code}} | fields


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str] = CENTRE
) -> httpx.Response:
    return await client.post("/api/v1/actions", json=body, headers=headers)


def locations(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [e["loc"] for e in response.json()["errors"]]


async def test_a_territory_of_each_level_is_checked_named_and_located(client: httpx.AsyncClient) -> None:
    expected = {
        ("region", "24"): ("Centre-Val de Loire", "24", None),
        ("departement", "45"): ("Loiret", "24", "45"),
        ("epci", "244500468"): ("Orléans Métropole", "24", "45"),
        ("commune", "45234"): ("Orléans", "24", "45"),
    }
    for (level, code), (name, region, departement) in expected.items():
        created = await post(client, on(level, code))
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["territory"] == {"level": level, "code": code, "name": name}
        assert (body["region"], body["departement"]) == (region, departement)
    inside_loiret = await client.get("/api/v1/actions", params={"departement": "45"}, headers=ADMIN)
    assert inside_loiret.json()["total"] == 3
    inside_centre = await client.get("/api/v1/actions", params={"region": "24"}, headers=ADMIN)
    assert inside_centre.json()["total"] == 4


async def test_an_action_in_a_crte_lies_in_the_crtes_departement(
    client: httpx.AsyncClient, levers_app: FastAPI
) -> None:
    """The levers service attaches a CRTE to a département (the one holding most of its population): the
    action is located there, so that the département's roadmap and lists count it."""
    crte_file = "crte_id,crte_name,member\ncrte-45-orleans,CRTE Orléans Métropole,244500468\n"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=levers_app), base_url="http://levers"
    ) as levers:
        uploaded = await levers.post(
            "/api/v1/territories/crtes/imports",
            content=crte_file.encode(),
            headers=CENTRE | {"content-type": "text/csv"},
        )
    assert uploaded.status_code == 200, uploaded.text
    created = await post(client, on("crte", "crte-45-orleans"))
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["territory"]["level"], body["region"], body["departement"]) == ("crte", "24", "45")
    in_loiret = await client.get(
        "/api/v1/actions", params={"departement": "45", "page_size": "500"}, headers=ADMIN
    )
    assert body["id"] in {action["id"] for action in in_loiret.json()["items"]}


async def test_an_unknown_or_ill_formed_territory_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
) -> None:
    assert locations(await post(client, on("commune", "45999"), ADMIN)) == [["body", "territory"]]
    assert locations(await post(client, on("crte", "crte-inconnu"), ADMIN)) == [["body", "territory"]]
    assert locations(await post(client, on("epci", "24"), ADMIN))[0][:2] == ["body", "territory"]
    legacy = await post(client, BASE | {"region": "24"}, ADMIN)  # the old form: no longer accepted
    assert {tuple(loc) for loc in locations(legacy)} >= {("body", "territory"), ("body", "region")}


async def test_coordinators_write_on_what_lies_in_their_territory(client: httpx.AsyncClient) -> None:
    assert (await post(client, on("commune", "45234"), CENTRE)).status_code == 201
    assert (await post(client, on("epci", "244500468"), LOIRET)).status_code == 201
    assert (await post(client, on("commune", "45234"), OCCITANIE)).status_code == 403
    assert (await post(client, on("commune", "18033"), LOIRET)).status_code == 403  # Bourges: the Cher
    assert (await post(client, on("region", "24"), LOIRET)).status_code == 403


async def test_carriers_and_partners_are_collectivites_or_named_organisations(
    client: httpx.AsyncClient,
) -> None:
    body = on(
        "epci",
        "244500468",
        carriers=[
            {
                "kind": "collectivite",
                "territory": {"level": "epci", "code": "244500468"},
                "role": "maître d'ouvrage",
            }
        ],
        partners=[
            {"kind": "etat", "name": "DREAL Centre-Val de Loire", "role": "financeur"},
            {"kind": "association", "name": "Vélo Loiret"},
        ],
    )
    created = await post(client, body)
    assert created.status_code == 201, created.text
    read = created.json()
    assert read["carriers"] == [
        {
            "kind": "collectivite",
            "territory": {"level": "epci", "code": "244500468", "name": "Orléans Métropole"},
            "name": "Orléans Métropole",
            "role": "maître d'ouvrage",
        }
    ]
    assert [(p["kind"], p["name"], p["role"]) for p in read["partners"]] == [
        ("etat", "DREAL Centre-Val de Loire", "financeur"),
        ("association", "Vélo Loiret", ""),
    ]
    wrong = on(
        "region",
        "24",
        carriers=[
            {"kind": "collectivite", "name": "Orléans"},
            {"kind": "entreprise", "territory": {"level": "commune", "code": "45234"}},
            {"kind": "collectivite", "territory": {"level": "commune", "code": "45999"}},
            {"kind": "ministere", "name": "X"},
        ],
    )
    response = await post(client, wrong)
    assert [loc[:3] for loc in locations(response)] == [
        ["body", "carriers", 0],
        ["body", "carriers", 1],
        ["body", "carriers", 3],
    ]
    unknown = on(
        "region",
        "24",
        partners=[{"kind": "collectivite", "territory": {"level": "commune", "code": "45999"}}],
    )
    assert locations(await post(client, unknown)) == [["body", "partners", 0, "territory"]]


async def test_the_cop_criteria_calendar_budget_and_documents_are_stored(client: httpx.AsyncClient) -> None:
    body = on(
        "departement",
        "45",
        description="Pistes cyclables entre les communes du Loiret",
        other_lever_ids=["augm_covoit"],
        status="retenue",
        nature="amplifiee",
        multi_acteurs=True,
        structurante=True,
        start_date="2025-03-01",
        end_date="2028-12-31",
        phases=[
            {"kind": "phase", "label": "Études", "start_date": "2025-03-01", "end_date": "2025-12-31"},
            {"kind": "jalon", "label": "Mise en service", "start_date": "2028-06-30"},
        ],
        estimated_cost_eur="4500000.00",
        budget_lines=[
            {"year": 2025, "financer": "Département du Loiret", "amount_eur": "300000", "status": "acquis"},
            {"year": 2025, "financer": "État – fonds vert", "amount_eur": 150000.5, "status": "planifie"},
            {"year": 2026, "financer": "Département du Loiret", "amount_eur": "900000", "status": "planifie"},
        ],
        documents=[{"title": "Délibération", "url": "https://www.loiret.fr/deliberation-velo.pdf"}],
        external_id="LOIRET-VELO-1",
    )
    created = await post(client, body)
    assert created.status_code == 201, created.text
    read = created.json()
    for field in ("nature", "multi_acteurs", "structurante", "start_date", "end_date", "documents"):
        assert read[field] == body[field], field
    assert read["other_lever_ids"] == ["augm_covoit"]
    assert read["phases"][1] == {
        "kind": "jalon",
        "label": "Mise en service",
        "start_date": "2028-06-30",
        "end_date": None,
    }
    assert [line["amount_eur"] for line in read["budget_lines"]] == ["300000.00", "150000.50", "900000.00"]
    assert read["external_id"] == "LOIRET-VELO-1"
    fetched = await client.get(f"/api/v1/actions/{read['id']}", headers=CENTRE)
    assert fetched.json() == read


async def test_inconsistent_input_is_refused_with_an_error_per_field(client: httpx.AsyncClient) -> None:
    body = on(
        "region",
        "24",
        start_date="2026-01-01",
        end_date="2025-12-31",
        phases=[{"kind": "phase", "label": "Travaux", "start_date": "2024-01-01", "end_date": "2024-06-30"}],
        budget_lines=[
            {"year": 2026, "financer": "Région", "amount_eur": "10", "status": "acquis"},
            {"year": 2026, "financer": " région ", "amount_eur": "20", "status": "planifie"},
        ],
        other_lever_ids=["augm_vélotc", "augm_covoit", "augm_covoit"],
    )
    assert locations(await post(client, body)) == [
        ["body", "end_date"],
        ["body", "phases", 0],
        ["body", "budget_lines", 1],
        ["body", "other_lever_ids", 0],
        ["body", "other_lever_ids", 2],
    ]
    negative = on(
        "region", "24", budget_lines=[{"year": 2026, "financer": "R", "amount_eur": "-1", "status": "acquis"}]
    )
    assert locations(await post(client, negative)) == [["body", "budget_lines", 0, "amount_eur"]]
    backwards = on(
        "region",
        "24",
        phases=[{"kind": "phase", "label": "x", "start_date": "2026-02-01", "end_date": "2026-01-01"}],
    )
    assert locations(await post(client, backwards))[0][:3] == ["body", "phases", 0]
    milestone = on(
        "region",
        "24",
        phases=[{"kind": "jalon", "label": "x", "start_date": "2026-02-01", "end_date": "2026-03-01"}],
    )
    assert locations(await post(client, milestone))[0][:3] == ["body", "phases", 0]
    link = on("region", "24", documents=[{"title": "x", "url": "javascript:alert(1)"}])
    assert locations(await post(client, link))[0][:3] == ["body", "documents", 0]
    assert (await client.get("/api/v1/actions", headers=ADMIN)).json()["total"] == 0


async def test_a_patch_keeps_the_calendar_consistent(client: httpx.AsyncClient) -> None:
    created = await post(
        client,
        on(
            "region",
            "24",
            start_date="2025-01-01",
            end_date="2027-12-31",
            phases=[{"kind": "jalon", "label": "Lancement", "start_date": "2025-01-15"}],
        ),
    )
    url, etag = f"/api/v1/actions/{created.json()['id']}", created.headers["etag"]
    later = await client.patch(url, json={"start_date": "2025-02-01"}, headers=CENTRE | {"if-match": etag})
    assert locations(later) == [["body", "phases", 0]]
    moved = await client.patch(
        url,
        json={
            "start_date": "2025-02-01",
            "phases": [{"kind": "jalon", "label": "Lancement", "start_date": "2025-02-15"}],
        },
        headers=CENTRE | {"if-match": etag},
    )
    assert moved.status_code == 200, moved.text
    history = (await client.get(f"{url}/history", headers=CENTRE)).json()["items"][0]
    assert [c["field"] for c in history["changes"]] == ["start_date", "phases"]


async def test_the_external_id_is_unique_per_territory(client: httpx.AsyncClient) -> None:
    first = await post(client, on("departement", "45", external_id="SI-001"))
    assert first.status_code == 201
    again = await post(client, on("departement", "45", external_id="SI-001"))
    assert (again.status_code, again.json()["code"]) == (409, "duplicate-external-id")
    assert (await post(client, on("departement", "18", external_id="SI-001"))).status_code == 201
    other = await post(client, on("departement", "45", external_id="SI-002"))
    clash = await client.patch(
        f"/api/v1/actions/{other.json()['id']}",
        json={"external_id": "SI-001"},
        headers=CENTRE | {"if-match": other.headers["etag"]},
    )
    assert clash.status_code == 409


async def test_funding_target_gives_the_levers_and_the_territory(client: httpx.AsyncClient) -> None:
    created = await post(client, on("commune", "45234", other_lever_ids=["augm_covoit"]))
    action = Action(
        lever_id=created.json()["lever_id"],
        other_lever_ids=created.json()["other_lever_ids"],
        territory_level="commune",
        territory_code="45234",
        territory_siren="214502346",
        region_code="24",
        departement_code="45",
    )
    target = funding_target(action)
    assert target.lever_ids == ("augm_vélotc", "augm_covoit")
    assert (target.territory.level, target.territory.code) == (Level.commune, "45234")
    assert target.territory.regions == frozenset({"24"}) and target.territory.departements == frozenset(
        {"45"}
    )
    assert target.territory.is_("214502346")
