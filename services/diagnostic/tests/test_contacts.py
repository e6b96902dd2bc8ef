"""Contacts through the HTTP API: the collectivité checked against the real levers service, scopes
(personal data), If-Match, history, and the CSV/XLSX import and export round trip."""

from __future__ import annotations

import httpx

from planeco_shared.tabular import XLSX_MEDIA_TYPE
from planeco_shared.testing import assert_problem, identity_headers, read_csv_export

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
OCCITANIE = identity_headers("coordinator", "76")
LOIRET = identity_headers("coordinator", "departement:45")
ORLEANS_METROPOLE = identity_headers("contributor", "244500468")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")

LOIRET_CONTACT = {
    "collectivite_level": "departement",
    "collectivite": "45",
    "email": "Camille.Martin@Loiret.fr",
    "name": "Camille Martin",
    "function": "Chargée de mission transition écologique",
}


async def create(
    client: httpx.AsyncClient, headers: dict[str, str] = CENTRE, **overrides: object
) -> httpx.Response:
    return await client.post("/api/v1/contacts", json=LOIRET_CONTACT | overrides, headers=headers)


async def test_a_contact_is_created_with_its_collectivite_resolved_and_is_first_primary(
    client: httpx.AsyncClient,
) -> None:
    created = await create(client)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["collectivite_name"] == "Loiret"
    assert body["region"] == "24"
    assert body["departement"] == "45"
    assert body["email"] == "camille.martin@loiret.fr"
    assert body["primary"] is True
    assert created.headers["Location"] == f"/api/v1/contacts/{body['id']}"
    second = await create(client, email="dominique.petit@loiret.fr", name="Dominique Petit")
    assert second.status_code == 201, second.text
    assert second.json()["primary"] is False
    read = await client.get(f"/api/v1/contacts/{second.json()['id']}", headers=CENTRE)
    changed = await client.patch(
        f"/api/v1/contacts/{second.json()['id']}",
        json={"primary": True},
        headers=CENTRE | {"If-Match": read.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["primary"] is True
    first = await client.get(f"/api/v1/contacts/{body['id']}", headers=CENTRE)
    assert first.json()["primary"] is False
    history = await client.get(f"/api/v1/contacts/{body['id']}/history", headers=CENTRE)
    assert [entry["action"] for entry in history.json()["items"]] == ["update", "create"]
    assert history.json()["items"][0]["changes"] == [{"field": "is_primary", "old": True, "new": False}]


async def test_every_level_is_resolved_by_the_levers_service(client: httpx.AsyncClient) -> None:
    cases = [
        ("region", "24", "Centre-Val de Loire", None),
        ("epci", "244500468", "Orléans Métropole", "45"),
        ("commune", "45234", "Orléans", "45"),
    ]
    for level, code, name, departement in cases:
        created = await create(client, collectivite_level=level, collectivite=code)
        assert created.status_code == 201, created.text
        assert created.json()["collectivite_name"] == name
        assert created.json()["departement"] == departement


async def test_bad_input_is_a_422_naming_the_field(client: httpx.AsyncClient) -> None:
    unknown = assert_problem(await create(client, collectivite="99"), 422)
    assert unknown["errors"][0]["loc"] == ["body", "collectivite"]
    bad_email = assert_problem(await create(client, email="not an e-mail"), 422)
    assert bad_email["errors"][0]["loc"] == ["body", "email"]
    wrong_level = assert_problem(await create(client, collectivite_level="epci", collectivite="45"), 422)
    assert "SIREN" in wrong_level["errors"][0]["msg"]
    assert (await create(client)).status_code == 201
    assert_problem(await create(client, email="CAMILLE.martin@loiret.fr"), 409)


async def test_scopes_contacts_are_personal_data(client: httpx.AsyncClient) -> None:
    loiret = (await create(client)).json()
    toulouse = await create(
        client,
        OCCITANIE,
        collectivite_level="epci",
        collectivite="243100518",
        email="a@toulouse-metropole.fr",
    )
    assert toulouse.status_code == 201, toulouse.text
    metropole = await create(
        client, ORLEANS_METROPOLE, collectivite_level="epci", collectivite="244500468", email="b@orleans.fr"
    )
    assert metropole.status_code == 201, metropole.text
    assert_problem(await create(client, OCCITANIE), 403)
    assert_problem(await create(client, ORLEANS_METROPOLE), 403)
    assert_problem(await create(client, READER), 403)
    assert_problem(await create(client, ANONYMOUS), 401)

    async def seen(headers: dict[str, str], query: str = "") -> set[str]:
        response = await client.get(f"/api/v1/contacts{query}", headers=headers)
        assert response.status_code == 200, response.text
        return {item["email"] for item in response.json()["items"]}

    everyone = {"camille.martin@loiret.fr", "a@toulouse-metropole.fr", "b@orleans.fr"}
    assert await seen(ADMIN) == everyone
    assert await seen(CENTRE) == {"camille.martin@loiret.fr", "b@orleans.fr"}
    assert await seen(LOIRET) == {"camille.martin@loiret.fr", "b@orleans.fr"}
    assert await seen(OCCITANIE) == {"a@toulouse-metropole.fr"}
    assert await seen(ORLEANS_METROPOLE) == {"b@orleans.fr"}
    assert await seen(ADMIN, "?region=76") == {"a@toulouse-metropole.fr"}
    assert await seen(ADMIN, "?departement=45&collectivite_level=departement") == {"camille.martin@loiret.fr"}
    assert_problem(await client.get("/api/v1/contacts", headers=READER), 403)
    assert_problem(await client.get("/api/v1/contacts", headers=ANONYMOUS), 401)
    assert_problem(await client.get(f"/api/v1/contacts/{loiret['id']}", headers=OCCITANIE), 404)
    assert_problem(await client.get(f"/api/v1/contacts/{loiret['id']}", headers=ORLEANS_METROPOLE), 404)
    assert (await client.get(f"/api/v1/contacts/{loiret['id']}", headers=LOIRET)).status_code == 200


async def test_changes_need_if_match_and_a_delete_erases(client: httpx.AsyncClient) -> None:
    contact = await create(client)
    url = f"/api/v1/contacts/{contact.json()['id']}"
    assert_problem(await client.patch(url, json={"name": "C. Martin"}, headers=CENTRE), 428)
    assert_problem(
        await client.patch(url, json={"name": "C. Martin"}, headers=CENTRE | {"If-Match": '"x"'}), 412
    )
    assert_problem(await client.patch(url, json={"email": None}, headers=CENTRE), 422)
    tag = contact.headers["ETag"]
    assert_problem(await client.delete(url, headers=OCCITANIE | {"If-Match": tag}), 404)
    assert (await client.delete(url, headers=CENTRE | {"If-Match": tag})).status_code == 204
    assert_problem(await client.get(url, headers=CENTRE), 404)


CSV = (
    "collectivite_level;collectivite;email;name;function;primary\n"
    "departement;45;c.martin@loiret.fr;Camille Martin;Chargée de mission;oui\n"
    "departement;45;d.petit@loiret.fr;Dominique Petit;Directeur;\n"
    "epci;244500468;climat@orleans-metropole.fr;;;\n"
    "region;24;cop@centrevaldeloire.fr;Service COP;;true\n"
)


async def upload(
    client: httpx.AsyncClient,
    content: str | bytes,
    headers: dict[str, str] = CENTRE,
    media_type: str = "text/csv",
) -> httpx.Response:
    return await client.post(
        "/api/v1/contacts/imports", content=content, headers=headers | {"Content-Type": media_type}
    )


async def test_an_import_is_idempotent_and_an_export_reimports_unchanged(client: httpx.AsyncClient) -> None:
    first = await upload(client, CSV)
    assert first.status_code == 200, first.text
    assert first.json() == {"rows": 4, "created": 4, "updated": 0, "unchanged": 0, "collectivites": 3}
    again = await upload(client, CSV)
    assert again.json() == {"rows": 4, "created": 0, "updated": 0, "unchanged": 4, "collectivites": 3}
    listed = (await client.get("/api/v1/contacts?collectivite=244500468", headers=CENTRE)).json()["items"]
    assert listed[0]["collectivite_name"] == "Orléans Métropole"
    assert listed[0]["primary"] is True  # the collectivité's first contact

    csv_export = await client.get("/api/v1/contacts/export?format=csv", headers=CENTRE)
    assert csv_export.status_code == 200, csv_export.text
    table = read_csv_export(csv_export.content)
    assert [row["email"] for row in table.rows] == [
        "cop@centrevaldeloire.fr",
        "c.martin@loiret.fr",
        "d.petit@loiret.fr",
        "climat@orleans-metropole.fr",
    ]
    assert table.rows[1]["collectivite_name"] == "Loiret"
    assert (await upload(client, csv_export.content)).json()["unchanged"] == 4
    xlsx_export = await client.get("/api/v1/contacts/export?format=xlsx", headers=CENTRE)
    assert xlsx_export.status_code == 200, xlsx_export.text
    from_xlsx = await upload(client, xlsx_export.content, media_type=XLSX_MEDIA_TYPE)
    assert from_xlsx.json() == {"rows": 4, "created": 0, "updated": 0, "unchanged": 4, "collectivites": 3}

    moved = await upload(
        client, "collectivite_level,collectivite,email,primary\ndepartement,45,d.petit@loiret.fr,true\n"
    )
    assert moved.json()["updated"] == 1
    loiret = (await client.get("/api/v1/contacts?collectivite=45", headers=CENTRE)).json()["items"]
    assert [(item["email"], item["primary"], item["name"]) for item in loiret] == [
        ("d.petit@loiret.fr", True, ""),
        ("c.martin@loiret.fr", False, "Camille Martin"),
    ]


async def test_a_bad_file_changes_nothing_and_lists_every_row_error(client: httpx.AsyncClient) -> None:
    bad = (
        "Collectivité level;Collectivite;EMAIL;primary\n"
        "departement;45;c.martin@loiret.fr;true\n"
        "departement;45;pas-un-email;\n"
        "commune;99999;x@example.fr;\n"
        "departement;31;y@haute-garonne.fr;\n"
        "departement;45;C.MARTIN@loiret.fr;\n"
        "epci;45;z@example.fr;\n"
        "departement;45;w@loiret.fr;true\n"
    )
    problem = assert_problem(await upload(client, bad), 422)
    assert problem["code"] == "invalid_contacts"
    assert {(tuple(error["loc"]), error["type"]) for error in problem["errors"]} == {
        (("row", 3, "email"), "value_error"),
        (("row", 4, "collectivite"), "not_found"),
        (("row", 5, "collectivite"), "forbidden"),
        (("row", 6, "email"), "duplicate"),
        (("row", 7, "collectivite"), "value_error"),
        (("row", 8, "primary"), "duplicate_primary"),
    }
    assert (await client.get("/api/v1/contacts", headers=ADMIN)).json()["total"] == 0
    header = assert_problem(await upload(client, "collectivite;courriel\n45;a@b.fr\n"), 422)
    assert {error["type"] for error in header["errors"]} == {"unknown_column", "missing_column"}
    assert_problem(await upload(client, CSV, media_type="application/json"), 415)
    assert_problem(await upload(client, b"not a workbook", media_type=XLSX_MEDIA_TYPE), 422)
    assert_problem(await upload(client, CSV, headers=READER), 403)
