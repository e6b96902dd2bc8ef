"""Published roadmaps: numbered, immutable snapshots of the public roadmap of a région or a département,
their CSV / XLSX exports and Frictionless data package (validated with the `frictionless` library), the
exports of the live roadmap, and who may publish."""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from frictionless import Package, validate
from sqlalchemy import select

from planeco_actions.db import AuditEntry
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers, read_csv_export, read_xlsx_export

from .permission_matrix import covers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
OCCITANIE = identity_headers("coordinator", "76")
ORLEANS = identity_headers("contributor", "45234")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
CARS = "augm_voitelec"
BIKES = "augm_vélotc"
ROADMAP = "/api/v1/roadmaps/regions/24"
PUBLICATIONS = f"{ROADMAP}/publications"
LOIRET_ROADMAP = f"{ROADMAP}/departements/45"
LOIRET_PUBLICATIONS = f"{LOIRET_ROADMAP}/publications"
FIGURES = [
    "objective_ktco2e",
    "realisee_ktco2e",
    "en_cours_ktco2e",
    "retenue_ktco2e",
    "committed_ktco2e",
    "proposee_ktco2e",
    "gap_ktco2e",
    "covered_share",
    "expected_ktco2e",
    "reached_ktco2e",
]


async def act(client: httpx.AsyncClient, impacts: list[dict[str, Any]], **fields: Any) -> httpx.Response:
    body = {
        "title": "Bornes et aides à l'achat de véhicules électriques",
        "territory": {"level": "departement", "code": "45"},
        "lever_id": CARS,
        "impacts": impacts,
        "published": True,
    } | fields
    response = await client.post("/api/v1/actions", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response


def line(year: int, financer: str, amount: str, status: str) -> dict[str, Any]:
    return {"year": year, "financer": financer, "amount_eur": amount, "status": status}


async def seed(client: httpx.AsyncClient) -> list[httpx.Response]:
    return [
        await act(
            client,
            [{"lever_id": CARS, "physical": "5"}],
            status="retenue",
            budget_lines=[
                line(2026, "Région Centre-Val de Loire", "150000.50", "acquis"),
                line(2027, "ADEME", "50000", "planifie"),
            ],
        ),
        await act(client, [{"lever_id": CARS, "ktco2e": "2.5"}], status="en_cours"),
        await act(
            client,
            [{"lever_id": CARS, "ktco2e": "1.2345"}, {"lever_id": BIKES, "ktco2e": "0.75"}],
            status="realisee",
            other_lever_ids=[BIKES],
            title="=Pistes cyclables; « vélo-école »",
            territory={"level": "departement", "code": "37"},
            budget_lines=[line(2025, "Tours Métropole", "20000", "acquis")],
        ),
        await act(client, [{"lever_id": CARS, "ktco2e": "4"}], status="proposee"),
        await act(
            client,
            [{"lever_id": CARS, "ktco2e": "9"}],
            status="retenue",
            published=False,
            budget_lines=[line(2026, "ADEME", "999", "planifie")],  # not public: in no publication
        ),
    ]


async def publish(client: httpx.AsyncClient, url: str = PUBLICATIONS, **body: Any) -> dict[str, Any]:
    response = await client.post(url, json=body, headers=CENTRE)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["location"] == f"{url}/{created['number']}"
    return created


IDENTITY = {"accept-encoding": "identity"}  # httpx asks for gzip by default


async def get(client: httpx.AsyncClient, path: str, headers: dict[str, str] = ANONYMOUS) -> httpx.Response:
    response = await client.get(path, headers=headers | IDENTITY)
    assert response.status_code == 200, (path, response.text)
    return response


def by_lever(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {lever["lever_id"]: lever for lever in snapshot["levers"]}


def number_or_none(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value).replace(",", "."))


async def test_a_publication_freezes_the_public_roadmap_numbered_per_territory(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    await seed(client)
    first = await publish(client, title="Feuille de route adoptée", notes="Séance plénière")
    assert (first["number"], first["title"], first["notes"]) == (
        1,
        "Feuille de route adoptée",
        "Séance plénière",
    )
    assert first["owner"] == {"level": "region", "code": "24"}
    assert (first["region"], first["departement"]) == ("24", None)
    assert first["licence"] == "Licence Ouverte / Open Licence version 2.0 (etalab-2.0)"
    assert any(first["version"] in source and "SGPE" in source for source in first["sources"])

    # The snapshot is the roadmap the public reads (published actions only), byte for byte as served.
    snapshot = await get(client, f"{PUBLICATIONS}/1/snapshot")
    live = await get(client, ROADMAP)
    assert snapshot.content == live.content
    assert snapshot.headers["etag"] == first["etag"]
    assert snapshot.headers["cache-control"] == "public, max-age=31536000, immutable"
    frozen = snapshot.json()
    assert frozen["scope"] == "published"
    cars = by_lever(frozen)[CARS]
    assert Decimal(cars["retenue_ktco2e"]) > 0 and len(cars["actions"]) == 4  # not the unpublished one
    assert Decimal(cars["proposee_ktco2e"]) == 4

    second = await publish(client)
    assert (second["number"], second["title"]) == (2, "Feuille de route — région 24 — publication 2")
    loiret = await publish(client, LOIRET_PUBLICATIONS)
    assert (loiret["number"], loiret["owner"], loiret["departement"]) == (
        1,
        {"level": "departement", "code": "45"},
        "45",
    )
    loiret_snapshot = await get(client, f"{LOIRET_PUBLICATIONS}/1/snapshot")
    assert loiret_snapshot.content == (await get(client, LOIRET_ROADMAP)).content
    assert loiret_snapshot.json()["departement"] == "45"

    listed = (await get(client, PUBLICATIONS)).json()
    assert (listed["total"], [item["number"] for item in listed["items"]]) == (2, [1, 2])
    assert listed["items"][0] == first
    assert (await get(client, LOIRET_PUBLICATIONS)).json()["total"] == 1
    one = await get(client, f"{PUBLICATIONS}/1")
    assert one.json() == first
    assert one.headers["cache-control"] == "public, max-age=31536000, immutable"

    # Attributed and audited.
    async with runtime_of(app).transaction() as session:
        entries = (
            await session.scalars(select(AuditEntry).where(AuditEntry.entity_type == "roadmap_publication"))
        ).all()
    assert sorted(
        (
            entry.action,
            entry.actor,
            entry.changes["owner_code"],
            entry.changes["number"],
            entry.changes["etag"],
        )
        for entry in entries
    ) == [
        ("publish", "test:coordinator:24", "24", 1, first["etag"]),
        ("publish", "test:coordinator:24", "24", 2, second["etag"]),
        ("publish", "test:coordinator:24", "45", 1, loiret["etag"]),
    ]


async def test_a_publication_stays_byte_identical_after_the_actions_change(client: httpx.AsyncClient) -> None:
    created = await seed(client)
    publication = await publish(client)
    paths = [item["path"] for item in publication["files"]]
    assert len(paths) == 1 + 4 * 3 + 2 + 4  # snapshot; 4 tables × (csv, csv point, xlsx); package, zip; CSVs
    before = {path: await get(client, path) for path in [f"{PUBLICATIONS}/1", *paths]}
    sizes = {item["path"]: (item["bytes"], item["etag"]) for item in publication["files"]}
    for path in paths:
        assert (len(before[path].content), before[path].headers["etag"]) == sizes[path], path
    live_before = (await get(client, ROADMAP)).content

    # Edit one action, archive another, add a third.
    action = created[0]
    url = f"/api/v1/actions/{action.json()['id']}"
    changed = await client.patch(
        url,
        json={
            "title": "Un autre titre",
            "impacts": [{"lever_id": CARS, "ktco2e": "42"}],
            "budget_lines": [line(2026, "Région Centre-Val de Loire", "1", "planifie")],
        },
        headers=CENTRE | {"if-match": action.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    archived = created[1]
    gone = await client.delete(
        f"/api/v1/actions/{archived.json()['id']}", headers=CENTRE | {"if-match": archived.headers["etag"]}
    )
    assert gone.status_code == 204, gone.text
    await act(client, [{"lever_id": CARS, "ktco2e": "3"}], status="realisee")
    assert (await get(client, ROADMAP)).content != live_before

    for path, response in before.items():
        again = await get(client, path)
        assert again.content == response.content, path
        assert again.headers["etag"] == response.headers["etag"], path
        revalidated = await client.get(
            path, headers=ANONYMOUS | IDENTITY | {"if-none-match": response.headers["etag"]}
        )
        assert revalidated.status_code == 304, path
        assert revalidated.headers["etag"] == response.headers["etag"]

    # Gzipped when asked, under its own tag; the same bytes once decoded.
    zipped = await client.get(paths[0], headers=ANONYMOUS | {"accept-encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["etag"] == publication["etag"][:-1] + '-gzip"'
    assert zipped.content == before[paths[0]].content


async def test_the_exports_are_the_snapshot_figures_exactly(client: httpx.AsyncClient) -> None:
    await seed(client)
    publication = await publish(client)
    snapshot = (await get(client, f"{PUBLICATIONS}/1/snapshot")).json()
    levers = by_lever(snapshot)

    csv = await get(client, f"{PUBLICATIONS}/1/export?resource=levers&format=csv")
    assert csv.headers["content-disposition"] == (
        'attachment; filename="planeco-feuille-de-route-region-24-publication-1-levers.csv"'
    )
    table = read_csv_export(csv.content)
    assert table.metadata["version"] == [snapshot["version"]]
    assert "Licence Ouverte / Open Licence 2.0" in table.metadata["licence"][0]
    assert f"panorama of {snapshot['version']}" in table.metadata["source"][0]
    assert table.metadata["generated_at"] == [publication["published_at"].replace("+00:00", "Z")]
    assert [row["lever_id"] for row in table.rows] == list(levers)
    for row in table.rows:
        lever = levers[row["lever_id"]]
        for name in FIGURES:
            assert number_or_none(row[name]) == number_or_none(lever[name]), (row["lever_id"], name)
        assert row["on_track"] == ("true" if lever["on_track"] else "false")
        assert int(row["action_count"]) == len(lever["actions"])

    sectors = read_csv_export(
        (await get(client, f"{PUBLICATIONS}/1/export?resource=sectors&format=csv")).content
    )
    *per_sector, total = sectors.rows
    assert (total["row_type"], total["sector"]) == ("total", "total")
    for name in ["objective_ktco2e", "committed_ktco2e", "gap_ktco2e", "proposee_ktco2e"]:
        assert number_or_none(total[name]) == Decimal(snapshot["total"][name])
        assert sum(number_or_none(row[name]) or 0 for row in per_sector) == Decimal(snapshot["total"][name])
        assert sum(Decimal(lever[name]) for lever in levers.values()) == Decimal(snapshot["total"][name])

    # The actions' rows add up to each lever's figures, by status.
    actions = read_csv_export(
        (await get(client, f"{PUBLICATIONS}/1/export?resource=actions&format=csv&decimal=point")).content
    )
    assert "'=Pistes cyclables; « vélo-école »" in {row["title"] for row in actions.rows}  # never a formula
    for lever_id, lever in levers.items():
        rows = [row for row in actions.rows if row["lever_id"] == lever_id]
        assert len(rows) == len(lever["actions"])
        for status in ("realisee", "en_cours", "retenue", "proposee"):
            total_status = sum(
                (Decimal(row["ktco2e"]) for row in rows if row["status"] == status and row["ktco2e"]),
                Decimal(0),
            )
            assert total_status == Decimal(lever[f"{status}_ktco2e"]), (lever_id, status)

    # The budget lines of the published actions, with the publication's metadata.
    budget = read_csv_export(
        (await get(client, f"{PUBLICATIONS}/1/export?resource=budget_lines&format=csv")).content
    )
    assert budget.headers[5] == "amount_eur [EUR]"
    assert "Licence Ouverte / Open Licence 2.0" in budget.metadata["licence"][0]
    assert [(row["year"], row["financer"], row["amount_eur"], row["status"]) for row in budget.rows] == [
        ("2026", "Région Centre-Val de Loire", "150000,5", "acquis"),  # plain decimals, as every export
        ("2027", "ADEME", "50000", "planifie"),
        ("2025", "Tours Métropole", "20000", "acquis"),
    ]

    xlsx = await get(client, f"{PUBLICATIONS}/1/export?resource=levers&format=xlsx")
    sheet = read_xlsx_export(xlsx.content)
    assert [row["lever_id"] for row in sheet.rows] == list(levers)
    for row in sheet.rows:
        assert Decimal(str(row["committed_ktco2e"])) == Decimal(levers[row["lever_id"]]["committed_ktco2e"])
    assert "Licence Ouverte / Open Licence 2.0" in sheet.metadata["licence"][0]


async def test_the_data_package_is_valid_and_ready_for_an_open_data_portal(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    created = await seed(client)
    await publish(client)
    snapshot = (await get(client, f"{PUBLICATIONS}/1/snapshot")).json()
    descriptor_response = await get(client, f"{PUBLICATIONS}/1/datapackage.json")
    descriptor = descriptor_response.json()
    assert descriptor["profile"] == "tabular-data-package"
    assert descriptor["name"] == "planeco-feuille-de-route-region-24-publication-1"
    assert [item["name"] for item in descriptor["licenses"]] == ["etalab-2.0"]
    assert any(snapshot["version"] in source["title"] for source in descriptor["sources"])
    schemas = {item["name"]: item["schema"] for item in descriptor["resources"]}
    assert schemas["levers"]["primaryKey"] == ["lever_id"]
    assert schemas["actions"]["primaryKey"] == ["lever_id", "action_id"]
    assert schemas["budget_lines"]["primaryKey"] == ["action_id", "year", "financer"]
    budget_fields = {item["name"]: item for item in schemas["budget_lines"]["fields"]}
    assert {name: item["type"] for name, item in budget_fields.items()} == {
        "action_id": "string",
        "title": "string",
        "lever_id": "string",
        "year": "integer",
        "financer": "string",
        "amount_eur": "number",
        "status": "string",
        "aid_id": "integer",
    }
    assert "EUR" in budget_fields["amount_eur"]["description"]
    fields = {item["name"]: item for item in schemas["levers"]["fields"]}
    assert (fields["objective_ktco2e"]["type"], fields["on_track"]["type"]) == ("number", "boolean")
    assert fields["objective_ktco2e"]["title"] == "Objectif"
    assert "ktCO2e" in fields["objective_ktco2e"]["description"]

    archive = await get(client, f"{PUBLICATIONS}/1/datapackage.zip")
    assert archive.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(archive.content)) as opened:
        assert opened.namelist() == [
            "datapackage.json",
            "files/levers.csv",
            "files/sectors.csv",
            "files/actions.csv",
            "files/budget_lines.csv",
        ]
        assert opened.read("datapackage.json") == descriptor_response.content
        for item in descriptor["resources"]:
            served = await get(client, f"{PUBLICATIONS}/1/{item['path']}")
            assert served.content == opened.read(item["path"])
        opened.extractall(tmp_path)

    report = validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    package = Package(str(tmp_path / "datapackage.json"))
    rows = package.get_resource("levers").read_rows()
    levers = by_lever(snapshot)
    assert [row["lever_id"] for row in rows] == list(levers)
    for row in rows:
        for name in FIGURES:
            expected = levers[row["lever_id"]][name]
            assert row[name] == (None if expected is None else Decimal(expected)), name
    assert (
        json.loads((tmp_path / "datapackage.json").read_text())["resources"][0]["path"] == "files/levers.csv"
    )

    # The budget lines of the published actions, one row each, as the public financing view sums them.
    budget = package.get_resource("budget_lines").read_rows()
    cars, cycling = created[0].json()["id"], created[2].json()["id"]
    assert [
        (row["action_id"], row["year"], row["financer"], row["amount_eur"], row["status"]) for row in budget
    ] == [
        (cars, 2026, "Région Centre-Val de Loire", Decimal("150000.50"), "acquis"),
        (cars, 2027, "ADEME", Decimal("50000"), "planifie"),
        (cycling, 2025, "Tours Métropole", Decimal("20000"), "acquis"),
    ]
    financing = (await get(client, f"{ROADMAP}/financing")).json()
    for status in ("acquis", "planifie"):
        spent = sum((row["amount_eur"] for row in budget if row["status"] == status), Decimal(0))
        assert spent == Decimal(financing["total"][f"{status}_eur"]), status


async def test_the_live_roadmaps_export_as_csv_and_xlsx(client: httpx.AsyncClient) -> None:
    await seed(client)
    live = (await get(client, ROADMAP, CENTRE)).json()
    csv = await get(client, f"{ROADMAP}/export?format=csv", CENTRE)
    assert csv.headers["content-disposition"] == (
        f'attachment; filename="planeco-feuille-de-route-region-24-{live["version"]}-levers.csv"'
    )
    table = read_csv_export(csv.content)
    assert table.metadata["scope"] == ["all"]  # the région's coordinator counts every action
    levers = by_lever(live)
    for row in table.rows:
        for name in FIGURES:
            assert number_or_none(row[name]) == number_or_none(levers[row["lever_id"]][name]), name
    public = read_csv_export((await get(client, f"{ROADMAP}/export?format=csv&table=actions")).content)
    assert public.metadata["scope"] == ["published"]
    assert len(public.rows) == sum(
        len(lever["actions"]) for lever in (await get(client, ROADMAP)).json()["levers"]
    )

    loiret = (await get(client, LOIRET_ROADMAP)).json()
    sheet = read_xlsx_export(
        (await get(client, f"{LOIRET_ROADMAP}/export?format=xlsx&table=sectors")).content
    )
    assert sheet.rows[-1]["row_type"] == "total"
    assert Decimal(str(sheet.rows[-1]["objective_ktco2e"])) == Decimal(loiret["total"]["objective_ktco2e"])


@covers(
    "POST /roadmaps/regions/{code}/publications",
    "GET /roadmaps/regions/{code}/publications",
    "GET /roadmaps/regions/{code}/publications/{number}",
    "GET /roadmaps/regions/{code}/publications/{number}/snapshot",
    "GET /roadmaps/regions/{code}/publications/{number}/export",
    "GET /roadmaps/regions/{code}/publications/{number}/datapackage.json",
    "GET /roadmaps/regions/{code}/publications/{number}/datapackage.zip",
    "GET /roadmaps/regions/{code}/publications/{number}/files/{file}",
    "POST /roadmaps/regions/{code}/departements/{departement}/publications",
    "GET /roadmaps/regions/{code}/departements/{departement}/publications",
    "GET /roadmaps/regions/{code}/departements/{departement}/publications/{number}",
    "GET /roadmaps/regions/{code}/departements/{departement}/publications/{number}/snapshot",
    "GET /roadmaps/regions/{code}/departements/{departement}/publications/{number}/export",
    "GET /roadmaps/regions/{code}/departements/{departement}/publications/{number}/datapackage.json",
    "GET /roadmaps/regions/{code}/departements/{departement}/publications/{number}/datapackage.zip",
    "GET /roadmaps/regions/{code}/departements/{departement}/publications/{number}/files/{file}",
)
async def test_who_may_publish_and_who_may_read(client: httpx.AsyncClient) -> None:
    await seed(client)
    # Per caller, refusals first: publishing the région's roadmap, then the Loiret's; a refusal writes
    # nothing.
    matrix = {
        "anonymous": (ANONYMOUS, 401, 401),
        "occitanie": (OCCITANIE, 404, 404),  # another région's: as if it did not exist
        "orleans": (ORLEANS, 403, 403),
        "reader": (READER, 403, 403),
        "loiret": (LOIRET, 403, 201),  # a département's coordinator publishes its own roadmap only
        "centre": (CENTRE, 201, 201),
        "admin": (ADMIN, 201, 201),
    }
    published = {PUBLICATIONS: 0, LOIRET_PUBLICATIONS: 0}
    for name, (headers, *statuses) in matrix.items():
        for url, status in zip(published, statuses, strict=True):
            response = await client.post(url, json={}, headers=headers)
            assert response.status_code == status, (name, url, response.text)
            published[url] += status == 201
            assert (await get(client, url)).json()["total"] == published[url], (name, url)
    assert (
        await client.post(f"{ROADMAP}/departements/18/publications", json={}, headers=LOIRET)
    ).status_code == 403

    # Every read of a publication is public and the same bytes for every caller.
    reads = [
        f"{base}/{number}{path}"
        for base, number in ((PUBLICATIONS, 1), (LOIRET_PUBLICATIONS, 2))
        for path in (
            "",
            "/snapshot",
            "/export?resource=levers&format=csv",
            "/export?resource=actions&format=xlsx",
            "/datapackage.json",
            "/datapackage.zip",
            "/files/sectors.csv",
        )
    ]
    seen: dict[str, bytes] = {}
    for headers in (ANONYMOUS, OCCITANIE, ORLEANS, READER, LOIRET, CENTRE, ADMIN):
        assert (await get(client, PUBLICATIONS, headers)).json()["total"] == 2
        assert (await get(client, LOIRET_PUBLICATIONS, headers)).json()["total"] == 3
        for path in reads:
            content = (await get(client, path, headers)).content
            assert seen.setdefault(path, content) == content, (path, headers)


async def test_bad_input_is_a_clear_problem_and_changes_nothing(client: httpx.AsyncClient) -> None:
    await seed(client)
    cases = [
        (PUBLICATIONS, {"version": "1999-01-01"}, 422),
        (PUBLICATIONS, {"version": "hier"}, 422),
        (PUBLICATIONS, {"year": 1900}, 422),
        (PUBLICATIONS, {"title": "a\u0000b"}, 422),
        (PUBLICATIONS, {"unknown": 1}, 422),
        ("/api/v1/roadmaps/regions/99/publications", {}, 404),
        (f"{ROADMAP}/departements/75/publications", {}, 404),  # Paris is not in Centre-Val de Loire
    ]
    for url, body, status in cases:
        response = await client.post(url, json=body, headers=ADMIN)
        assert response.status_code == status, (url, body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert (await get(client, PUBLICATIONS)).json()["total"] == 0

    for path in (
        f"{PUBLICATIONS}/1",
        f"{PUBLICATIONS}/1/snapshot",
        f"{PUBLICATIONS}/1/datapackage.json",
        f"{LOIRET_PUBLICATIONS}/1/files/levers.csv",
    ):
        assert (await client.get(path, headers=ANONYMOUS)).status_code == 404, path
    await publish(client)
    for path in (
        f"{PUBLICATIONS}/0",
        f"{PUBLICATIONS}/1/export?resource=budgets&format=csv",
        f"{PUBLICATIONS}/1/export?resource=levers&format=pdf",
        f"{PUBLICATIONS}/1/files/other.csv",
    ):
        assert (await client.get(path, headers=ANONYMOUS)).status_code == 422, path

    # A retry with the same Idempotency-Key is the same publication, not a new number.
    key = {"idempotency-key": "publish-24-a"}
    first = await client.post(PUBLICATIONS, json={"notes": "x"}, headers=CENTRE | key)
    again = await client.post(PUBLICATIONS, json={"notes": "x"}, headers=CENTRE | key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert (await get(client, PUBLICATIONS)).json()["total"] == 2
