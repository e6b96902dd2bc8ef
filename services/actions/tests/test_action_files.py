"""A roadmap file: its actions imported whole (CSV or XLSX, all or nothing, idempotent by territory and
external id, impacts converted as a single action's are) and exported in the same columns, so that an
exported file imported again changes nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from openpyxl import Workbook, load_workbook

from planeco_shared.tabular import XLSX_MEDIA_TYPE
from planeco_shared.testing import identity_headers

from .permission_matrix import covers

URL = "/api/v1/actions"
ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
OCCITANIE = identity_headers("coordinator", "76")
ORLEANS = identity_headers("contributor", "45234")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
CARS = "augm_voitelec"  # milliers de véhicules électriques dans le parc régional
BIKES = "augm_vélotc"  # km annuels par voiture: an intensity, ktCO2e only

HEADER = (
    "external_id;title;territory;lever_id;other_lever_ids;status;nature;multi_acteurs;start_date;end_date;"
    "phases;carriers;partners;estimated_cost_eur;budget_lines;impact_value;impact_unit;other_impacts"
)
ROWS = [
    "CVL-VE-01;Bornes et aides à l'achat de véhicules électriques;departement:45;augm_voitelec;augm_vélotc;"
    "retenue;amplifiee;oui;2026-01-01;2028-12-31;phase:Études\\: diagnostic:2026-01-01:2026-06-30|"
    "jalon:Inauguration:2027-09-01;collectivite:departement:45:pilote|etat:DREAL Centre-Val de Loire;"
    "entreprise:Enedis:raccordement;1500000;2026:Région Centre-Val de Loire:150000,50:acquis|"
    "2027:ADEME:50000:planifie;5;physical;augm_vélotc:1,25:ktco2e",
    "CVL-HAIES-01;Plan haies bocagères;region:24;augm_haies;;en_cours;nouvelle;non;2025-01-01;;;"
    "collectivite:region:24;;;;12;ktco2e;",
    "CVL-EPCI-01;Covoiturage domicile-travail;epci:244500468;;;proposee;;;;;;;;;;;;",
]
CSV = HEADER + "\n" + "\n".join(ROWS) + "\n"


@pytest_asyncio.fixture(loop_scope="session")
async def levers(levers_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The levers service itself: the figures the imported impacts must agree with."""
    transport = httpx.ASGITransport(app=levers_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://levers.test") as client:
        yield client


async def upload(
    client: httpx.AsyncClient,
    content: str | bytes,
    *,
    headers: dict[str, str] = CENTRE,
    media_type: str = "text/csv",
) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return await client.post(f"{URL}/imports", content=body, headers=headers | {"content-type": media_type})


async def actions_of(client: httpx.AsyncClient, **params: Any) -> dict[str, dict[str, Any]]:
    response = await client.get(URL, params={"page_size": 500, "region": "24"} | params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return {item["external_id"]: item for item in response.json()["items"]}


async def history_lengths(client: httpx.AsyncClient, actions: dict[str, dict[str, Any]]) -> dict[str, int]:
    lengths = {}
    for external_id, item in actions.items():
        response = await client.get(f"{URL}/{item['id']}/history", headers=ADMIN)
        lengths[external_id] = response.json()["total"]
    return lengths


def errors(response: httpx.Response, status: int = 422) -> list[tuple[list[Any], str]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [(error["loc"], error["type"]) for error in response.json()["errors"]]


async def test_a_roadmap_file_creates_its_actions_with_the_levers_services_figures(
    client: httpx.AsyncClient, levers: httpx.AsyncClient
) -> None:
    imported = await upload(client, CSV)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "restored": 0}
    actions = await actions_of(client)
    cars = actions["CVL-VE-01"]
    assert cars["territory"] == {"level": "departement", "code": "45", "name": "Loiret"}
    assert (cars["status"], cars["nature"], cars["multi_acteurs"]) == ("retenue", "amplifiee", True)
    assert cars["phases"] == [
        {
            "kind": "phase",
            "label": "Études: diagnostic",
            "start_date": "2026-01-01",
            "end_date": "2026-06-30",
        },
        {"kind": "jalon", "label": "Inauguration", "start_date": "2027-09-01", "end_date": None},
    ]
    assert cars["carriers"] == [
        {
            "kind": "collectivite",
            "territory": {"level": "departement", "code": "45", "name": "Loiret"},
            "name": "Loiret",
            "role": "pilote",
        },
        {"kind": "etat", "territory": None, "name": "DREAL Centre-Val de Loire", "role": ""},
    ]
    assert cars["partners"] == [
        {"kind": "entreprise", "territory": None, "name": "Enedis", "role": "raccordement"}
    ]
    assert cars["estimated_cost_eur"] == "1500000.00"
    assert cars["budget_lines"] == [
        {
            "year": 2026,
            "financer": "Région Centre-Val de Loire",
            "amount_eur": "150000.50",
            "status": "acquis",
            "aid_id": None,
        },
        {"year": 2027, "financer": "ADEME", "amount_eur": "50000.00", "status": "planifie", "aid_id": None},
    ]
    # 5 thousand electric cars more in the Loiret's fleet: the levers service's own conversion for the
    # région, at its latest panorama.
    factors = (
        await levers.get(
            f"/api/v1/levers/{CARS}/convert", params={"region": "24", "ktco2e": "0"}, headers=ADMIN
        )
    ).json()
    official = (
        await levers.get(
            f"/api/v1/levers/{CARS}/convert",
            params={"region": "24", "physical": str(Decimal(factors["start_2019"]) + 5)},
            headers=ADMIN,
        )
    ).json()
    expected = Decimal(official["ktco2e"]).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
    main, bikes = cars["impacts"]
    assert main == {
        "lever_id": CARS,
        "entered": "physical",
        "ktco2e": str(expected),
        "physical": "5.000",
        "unit": factors["unit"],
        "version": factors["version"],
        "ratio": factors["ratio"],
    }
    assert Decimal(main["ktco2e"]) > 0
    assert (bikes["lever_id"], bikes["entered"], bikes["ktco2e"], bikes["physical"]) == (
        BIKES,
        "ktco2e",
        "1.2500",
        None,
    )
    assert cars["expected_impact_ktco2e"] == str(expected + Decimal("1.25"))
    hedges = actions["CVL-HAIES-01"]
    assert (hedges["impacts"][0]["entered"], hedges["expected_impact_ktco2e"]) == ("ktco2e", "12.0000")
    assert hedges["impacts"][0]["physical"] is not None  # km of hedges, derived
    epci = actions["CVL-EPCI-01"]
    assert (epci["territory"]["code"], epci["departement"], epci["impacts"]) == ("244500468", "45", [])
    history = await client.get(f"{URL}/{cars['id']}/history", headers=ADMIN)
    [entry] = history.json()["items"]
    assert (entry["action"], entry["actor"]) == ("create", "test:coordinator:24")


async def test_the_same_file_again_changes_nothing_and_a_changed_row_updates_its_action(
    client: httpx.AsyncClient,
) -> None:
    assert (await upload(client, CSV)).status_code == 200
    before = await actions_of(client)
    again = await upload(client, CSV)
    assert again.json() == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3, "restored": 0}
    after = await actions_of(client)
    assert after == before  # same revisions, same updated_at
    assert set((await history_lengths(client, after)).values()) == {1}

    changed = CSV.replace(
        "Plan haies bocagères;region:24;augm_haies;;en_cours", "Plan haies;region:24;augm_haies;;realisee"
    )
    updated = await upload(client, changed)
    assert updated.json() == {"rows": 3, "created": 0, "updated": 1, "unchanged": 2, "restored": 0}
    hedges = (await actions_of(client))["CVL-HAIES-01"]
    assert (hedges["title"], hedges["status"], hedges["revision"]) == ("Plan haies", "realisee", 2)
    history = (await client.get(f"{URL}/{hedges['id']}/history", headers=ADMIN)).json()["items"]
    assert history[0]["action"] == "update"
    assert {change["field"] for change in history[0]["changes"]} == {"title", "status"}


async def test_a_column_the_file_leaves_out_is_left_as_it_is(client: httpx.AsyncClient) -> None:
    assert (await upload(client, CSV)).status_code == 200
    short = "external_id;title;territory\nCVL-VE-01;Bornes de recharge;departement:45\n"
    response = await upload(client, short)
    assert response.json() == {"rows": 1, "created": 0, "updated": 1, "unchanged": 0, "restored": 0}
    cars = (await actions_of(client))["CVL-VE-01"]
    assert (cars["title"], cars["status"], len(cars["impacts"]), len(cars["budget_lines"])) == (
        "Bornes de recharge",
        "retenue",
        2,
        2,
    )


async def test_every_bad_row_is_reported_and_nothing_is_saved(client: httpx.AsyncClient) -> None:
    bad = (
        HEADER
        + "\n"
        + "\n".join(
            [
                ROWS[0],  # valid: still not saved
                "CVL-2;Inconnu;departement:99;;;;;;;;;;;;;;;",  # no such département
                "CVL-3;Dates;region:24;;;retenue;;;2027-01-01;2026-01-01;;;;;;;;",  # end before start
                "CVL-4;Budget;region:24;;;;;;;;;;;;2026:ADEME:10:maybe;;;",  # budget status
                "CVL-5;Lever;region:24;pas_un_levier;;;;;;;;;;;;;;",  # unknown lever
                "CVL-6;Impact;region:24;augm_vélotc;;;;;;;;;;;;100;physical;",  # an intensity: ktCO2e only
                "CVL-7;Carrier;region:24;;;;;;;;;mairie;;;;;;",  # the actor syntax
                ";No id;region:24;;;;;;;;;;;;;;;",  # external id required
                "CVL-VE-01;Twice;departement:45;;;;;;;;;;;;;;;",  # the same id on the same territory
                "CVL-8;Status;region:24;;;finie;;;;;;;;;;;;",
            ]
        )
    )
    response = await upload(client, bad + "\n")
    assert sorted(errors(response)) == [
        (["row", 3, "territory"], "not_found"),
        (["row", 4, "end_date"], "value_error"),
        (["row", 5, "budget_lines"], "enum"),
        (["row", 6, "lever_id"], "not_found"),
        (["row", 7, "impact_value"], "ktco2e-only"),
        (["row", 8, "carriers"], "syntax"),
        (["row", 9, "external_id"], "missing"),
        (["row", 10, "external_id"], "duplicate"),
        (["row", 11, "status"], "enum"),
    ]
    assert "nothing was changed" in response.json()["detail"]
    assert response.json()["code"] == "invalid-roadmap-file"
    assert await actions_of(client) == {}


async def test_an_xlsx_file_imports_as_the_csv_does(client: httpx.AsyncClient) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in csv.reader(io.StringIO(CSV), delimiter=";"):
        sheet.append([cell.replace("150000,50", "150000.50").replace("1,25", "1.25") for cell in line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported = await upload(client, buffer.getvalue(), media_type="application/octet-stream")
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 3
    assert (await upload(client, CSV)).json()["unchanged"] == 3  # the same actions as the CSV's


async def test_an_exported_file_imported_again_changes_nothing(client: httpx.AsyncClient) -> None:
    assert (await upload(client, CSV)).status_code == 200
    # And an action written through the JSON API, with what the file syntax must escape and keep.
    created = await client.post(
        URL,
        json={
            "title": "=Réseau: bornes | vélos",
            "description": "-tiret\nsur deux lignes",
            "territory": {"level": "commune", "code": "45234"},
            "lever_id": CARS,
            "carriers": [
                {"kind": "association", "name": "Vélo: Orléans | Loiret", "role": "animateur\\relais"}
            ],
            "budget_lines": [
                {"year": 2026, "financer": "Ville d'Orléans", "amount_eur": "0.01", "status": "acquis"}
            ],
            "impacts": [{"lever_id": CARS, "ktco2e": "0.0001"}],
            "external_id": "API-1",
            "published": True,
        },
        headers=CENTRE,
    )
    assert created.status_code == 201, created.text
    before = await actions_of(client)
    lengths = await history_lengths(client, before)
    for params in ({"format": "csv"}, {"format": "csv", "decimal": "point"}, {"format": "xlsx"}):
        exported = await client.get(f"{URL}/export", params=params | {"region": "24"}, headers=CENTRE)
        assert exported.status_code == 200, exported.text
        assert exported.headers["content-disposition"].startswith('attachment; filename="planeco-actions')
        media_type = XLSX_MEDIA_TYPE if params["format"] == "xlsx" else "text/csv"
        again = await upload(client, exported.content, media_type=media_type)
        assert again.status_code == 200, (params, again.text)
        assert again.json() == {"rows": 4, "created": 0, "updated": 0, "unchanged": 4, "restored": 0}, params
    assert await actions_of(client) == before
    assert await history_lengths(client, before) == lengths

    workbook = load_workbook(io.BytesIO(exported.content))
    header = [cell.value for cell in next(workbook["data"].iter_rows(max_row=1))]
    assert header[:4] == ["external_id", "title", "description", "territory"]


@covers(
    "POST /actions/imports",
    "GET /actions/export",
)
async def test_who_may_import_and_export(client: httpx.AsyncClient) -> None:
    centre_file = CSV
    matrix = {"admin": (ADMIN, 200), "centre": (CENTRE, 200), "occitanie": (OCCITANIE, 403)}
    matrix |= {"loiret": (LOIRET, 403), "contributor": (ORLEANS, 403), "reader": (READER, 403)}
    matrix |= {"anonymous": (ANONYMOUS, 401)}
    for name, (headers, status) in matrix.items():
        response = await upload(client, centre_file, headers=headers)
        assert response.status_code == status, (name, response.text)
        if name == "occitanie":  # each row on a territory outside the caller's, by row
            assert errors(response, 403) == [
                (["row", 2, "territory"], "forbidden"),
                (["row", 3, "territory"], "forbidden"),
                (["row", 4, "territory"], "forbidden"),
            ]
        if name == "loiret":  # the région's own action is not the département's to write
            assert errors(response, 403) == [(["row", 3, "territory"], "forbidden")]
    # The Loiret's coordinator imports the rows of its département.
    loiret_rows = HEADER + "\n" + ROWS[0] + "\n" + ROWS[2] + "\n"
    assert (await upload(client, loiret_rows, headers=LOIRET)).json()["unchanged"] == 2

    exports = {"admin": ADMIN, "centre": CENTRE, "occitanie": OCCITANIE, "reader": READER, "loiret": LOIRET}
    exports |= {"contributor": ORLEANS}
    counts = {}
    for name, headers in exports.items():
        response = await client.get(
            f"{URL}/export", params={"format": "csv", "decimal": "point"}, headers=headers
        )
        assert response.status_code == 200, (name, response.text)
        text = response.content.decode("utf-8-sig")
        lines = [line for line in text.splitlines() if not line.startswith(("#", '"#'))]
        counts[name] = len(lines) - 1
    assert counts == {"admin": 3, "centre": 3, "occitanie": 0, "reader": 3, "loiret": 3, "contributor": 3}
    assert (await client.get(f"{URL}/export", params={"format": "csv"}, headers=ANONYMOUS)).status_code == 401


async def actions_by_id(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await client.get(URL, params={"page_size": 500, "region": "24"}, headers=ADMIN)
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


async def test_actions_without_an_external_id_export_and_import_again_by_their_id(
    client: httpx.AsyncClient,
) -> None:
    assert (await upload(client, CSV)).status_code == 200
    # No external id: one recorded through the API, one a contributor proposed.
    recorded = await client.post(
        URL,
        json={
            "title": "Pistes cyclables",
            "territory": {"level": "region", "code": "24"},
            "lever_id": CARS,
            "start_date": "2026-01-01",
            "impacts": [{"lever_id": CARS, "ktco2e": "0.5"}],
        },
        headers=CENTRE,
    )
    proposed = await client.post(
        URL,
        json={"title": "Jardins partagés", "territory": {"level": "commune", "code": "45234"}},
        headers=ORLEANS,
    )
    assert (recorded.status_code, proposed.status_code) == (201, 201), (recorded.text, proposed.text)
    before = await actions_by_id(client)
    assert [item["external_id"] for item in before.values()].count(None) == 2
    lengths = await history_lengths(client, before)
    for params in ({"format": "csv"}, {"format": "xlsx"}):
        exported = await client.get(f"{URL}/export", params=params | {"region": "24"}, headers=CENTRE)
        assert exported.status_code == 200, exported.text
        media_type = XLSX_MEDIA_TYPE if params["format"] == "xlsx" else "text/csv"
        again = await upload(client, exported.content, media_type=media_type)
        assert again.status_code == 200, (params, again.text)
        assert again.json() == {"rows": 5, "created": 0, "updated": 0, "unchanged": 5, "restored": 0}, params
    after = await actions_by_id(client)
    assert after == before  # no new action, the same revisions
    assert await history_lengths(client, after) == lengths  # no audit entry

    # The exported row changed: its action is updated, by id.
    exported = await client.get(f"{URL}/export", params={"format": "csv", "region": "24"}, headers=CENTRE)
    text = exported.content.decode("utf-8-sig")
    assert recorded.json()["id"] in text
    changed = await upload(client, text.replace("Pistes cyclables", "Pistes cyclables sécurisées"))
    assert changed.json() == {"rows": 5, "created": 0, "updated": 1, "unchanged": 4, "restored": 0}
    bikes = (await actions_by_id(client))[recorded.json()["id"]]
    assert (bikes["title"], bikes["revision"], bikes["external_id"]) == (
        "Pistes cyclables sécurisées",
        2,
        None,
    )


async def test_a_row_naming_an_action_by_id_must_name_one_of_the_callers(client: httpx.AsyncClient) -> None:
    assert (await upload(client, CSV)).status_code == 200
    centre = await actions_of(client)
    hedges, cars = centre["CVL-HAIES-01"]["id"], centre["CVL-VE-01"]["id"]
    elsewhere = await client.post(
        URL, json={"title": "Rénovation", "territory": {"level": "region", "code": "76"}}, headers=OCCITANIE
    )
    loiret = await client.post(
        URL, json={"title": "Sans id", "territory": {"level": "departement", "code": "45"}}, headers=CENTRE
    )
    assert (elsewhere.status_code, loiret.status_code) == (201, 201), (elsewhere.text, loiret.text)
    before = await actions_by_id(client)
    rows = [
        f"{hedges};CVL-HAIES-01;Plan haies renommé;region:24",  # valid: still not saved
        "00000000-0000-4000-8000-000000000000;;Inconnue;region:24",  # no such action
        "pas-un-id;;Mal écrit;region:24",
        f"{elsewhere.json()['id']};;Rénovation;region:24",  # another région's: unknown to the caller
        f"{cars};CVL-VE-01;Bornes;region:24",  # an action's territory does not change
        f"{hedges};;Deux fois;region:24",  # the same action twice
        f"{loiret.json()['id']};CVL-VE-01;Bornes;departement:45",  # another action's external id
    ]
    response = await upload(client, "id;external_id;title;territory\n" + "\n".join(rows) + "\n")
    assert sorted(errors(response)) == [
        (["row", 3, "id"], "not_found"),
        (["row", 4, "id"], "uuid_parsing"),
        (["row", 5, "id"], "not_found"),
        (["row", 6, "territory"], "value_error"),
        (["row", 7, "id"], "duplicate"),
        (["row", 8, "external_id"], "duplicate"),
    ]
    assert await actions_by_id(client) == before
