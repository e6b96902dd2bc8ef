"""Support measures: an owner's catalogue imported whole (CSV or XLSX, all or nothing, idempotent),
read publicly by lever; who may import which catalogue."""

from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import Workbook

from planeco_shared.tabular import XLSX_MEDIA_TYPE
from planeco_shared.testing import identity_headers

from .permission_matrix import covers

URL = "/api/v1/support-measures"
ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
ANONYMOUS = identity_headers("anonymous")
CSV = {"content-type": "text/csv"}

NATIONAL = (
    "key;title;carrier;url;lever_ids;support_types;audiences;in_own_hands\n"
    "fonds-vert-haies;Fonds vert : haies et renaturation;État (DDT);https://www.ecologie.gouv.fr/fonds-vert;"
    "augm_haies;subvention|ingenierie;commune|epci;Choisir les linéaires et mobiliser les agriculteurs\n"
    "advenir;Programme Advenir;Avere-France;https://advenir.mobi;augm_voitelec;subvention;"
    "commune|epci|entreprise;Installer des bornes sur la voirie et les parkings publics\n"
)


async def upload(
    client: httpx.AsyncClient,
    content: str | bytes,
    *,
    owner: str = "nation",
    headers: dict[str, str] = ADMIN,
    media_type: str = "text/csv",
) -> httpx.Response:
    body = content.encode() if isinstance(content, str) else content
    return await client.post(
        f"{URL}/imports",
        params={"owner": owner},
        content=body,
        headers=headers | {"content-type": media_type},
    )


async def test_an_import_creates_the_catalogue_and_the_same_file_again_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    first = await upload(client, NATIONAL)
    assert first.status_code == 200, first.text
    assert first.json() == {
        "owner": None,
        "rows": 2,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "archived": 0,
        "restored": 0,
    }
    again = await upload(client, NATIONAL)
    assert (again.json()["unchanged"], again.json()["created"], again.json()["updated"]) == (2, 0, 0)

    listed = await client.get(URL, params={"lever_id": "augm_haies"}, headers=ANONYMOUS)
    assert listed.status_code == 200, listed.text
    [hedges] = listed.json()["items"]
    assert hedges["key"] == "fonds-vert-haies"
    assert hedges["support_types"] == ["subvention", "ingenierie"]
    assert hedges["audiences"] == ["commune", "epci"]
    assert hedges["in_own_hands"] == "Choisir les linéaires et mobiliser les agriculteurs"
    assert hedges["owner"] is None  # the nation's
    history = await client.get(f"{URL}/{hedges['id']}/history", headers=CENTRE)
    assert [entry["action"] for entry in history.json()["items"]] == ["create"]


async def test_a_changed_file_updates_archives_and_restores(client: httpx.AsyncClient) -> None:
    assert (await upload(client, NATIONAL)).status_code == 200
    listed = await client.get(URL, params={"lever_id": "augm_haies"}, headers=ANONYMOUS)
    hedges_id = listed.json()["items"][0]["id"]
    only_advenir = (
        NATIONAL.splitlines()[0] + "\n" + NATIONAL.splitlines()[2].replace("Avere-France", "Avere") + "\n"
    )
    changed = await upload(client, only_advenir)
    assert changed.json() | {"owner": None} == {
        "owner": None,
        "rows": 1,
        "created": 0,
        "updated": 1,
        "unchanged": 0,
        "archived": 1,
        "restored": 0,
    }
    assert (await client.get(URL, params={"lever_id": "augm_haies"}, headers=ANONYMOUS)).json()["total"] == 0
    archived = await client.get(f"{URL}/{hedges_id}", headers=ANONYMOUS)  # still readable by its id
    assert archived.status_code == 200 and archived.json()["archived_at"] is not None

    restored = await upload(client, NATIONAL)
    assert (restored.json()["restored"], restored.json()["updated"], restored.json()["archived"]) == (1, 1, 0)
    history = await client.get(f"{URL}/{hedges_id}/history", headers=ADMIN)
    assert [entry["action"] for entry in history.json()["items"]] == ["restore", "archive", "create"]
    advenir = (await client.get(URL, params={"lever_id": "augm_voitelec"}, headers=ANONYMOUS)).json()[
        "items"
    ][0]
    assert advenir["carrier"] == "Avere-France" and advenir["revision"] == 3


async def test_an_xlsx_file_imports_as_the_csv_does(client: httpx.AsyncClient) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in NATIONAL.splitlines():
        sheet.append(line.split(";"))
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported = await upload(client, buffer.getvalue(), media_type=XLSX_MEDIA_TYPE)
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 2
    assert (await upload(client, NATIONAL)).json()["unchanged"] == 2  # the same catalogue as the CSV's
    # The format is in the bytes: the same workbook sent as generated clients send a file is the same import.
    as_bytes = await upload(client, buffer.getvalue(), media_type="application/octet-stream")
    assert as_bytes.status_code == 200, as_bytes.text
    assert as_bytes.json()["unchanged"] == 2
    mislabelled = await upload(client, buffer.getvalue(), media_type="text/csv")
    assert mislabelled.json()["unchanged"] == 2


async def test_a_bad_file_changes_nothing_and_lists_every_error(client: httpx.AsyncClient) -> None:
    bad = (
        "key;title;carrier;lever_ids;support_types;audiences\n"
        "ok;Un dispositif correct;ADEME;augm_haies;subvention;commune\n"
        "ok;Le même identifiant;ADEME;augm_haies;subvention;\n"
        "bad key;x;ADEME;pas_un_levier;cadeau;martiens\n"
    )
    response = await upload(client, bad)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["code"] == "invalid-support-measures"
    assert {(tuple(error["loc"]), error["type"]) for error in problem["errors"]} == {
        (("row", 3, "key"), "duplicate"),
        (("row", 4, "key"), "string_pattern_mismatch"),
        (("row", 4, "title"), "string_too_short"),
        (("row", 4, "support_types"), "enum"),
        (("row", 4, "audiences"), "enum"),
    }
    unknown_lever = await upload(
        client,
        bad.replace("bad key;x;ADEME;pas_un_levier;cadeau;martiens\n", "")
        .replace("ok;Le même", "autre;Le même")
        .replace("augm_haies;subvention;\n", "pas_un_levier;subvention;\n"),
    )
    assert [(error["loc"], error["type"]) for error in unknown_lever.json()["errors"]] == [
        (["row", 3, "lever_ids"], "not_found")
    ]
    assert (await client.get(URL, headers=ANONYMOUS)).json()["total"] == 0


@pytest.mark.parametrize(
    ("owner", "headers", "status"),
    [
        ("nation", ADMIN, 200),
        ("nation", CENTRE, 403),
        ("region:24", CENTRE, 200),
        ("region:76", CENTRE, 403),
        ("departement:45", CENTRE, 200),  # the Loiret lies in Centre-Val de Loire
        ("departement:45", LOIRET, 200),
        ("region:24", LOIRET, 403),
        ("departement:18", LOIRET, 403),
        ("nation", identity_headers("contributor", "244500468"), 403),
        ("nation", identity_headers("reader"), 403),
        ("nation", ANONYMOUS, 401),
        ("region:99", ADMIN, 422),
        ("departement:2C", ADMIN, 422),
    ],
)
async def test_who_may_import_which_catalogue(
    client: httpx.AsyncClient, owner: str, headers: dict[str, str], status: int
) -> None:
    response = await upload(client, NATIONAL, owner=owner, headers=headers)
    assert response.status_code == status, response.text
    if status == 200:
        level, _, code = owner.partition(":")
        assert response.json()["owner"] == ({"level": level, "code": code} if code else None)


@covers("POST /support-measures/imports")
async def test_who_imports_the_regions_and_the_loirets_catalogues(client: httpx.AsyncClient) -> None:
    # Per caller, refusals first: importing the Centre-Val de Loire's catalogue, then the Loiret's (a
    # refusal imports nothing); the coordinators of a territory and of what contains it import its own.
    matrix = {
        "anonymous": (ANONYMOUS, 401, 401),
        "occitanie": (identity_headers("coordinator", "76"), 403, 403),
        "contributor": (identity_headers("contributor", "45234"), 403, 403),
        "reader": (identity_headers("reader"), 403, 403),
        "loiret": (LOIRET, 403, 200),
        "centre": (CENTRE, 200, 200),
        "admin": (ADMIN, 200, 200),
    }
    imported = {"region:24": False, "departement:45": False}
    for name, (headers, *statuses) in matrix.items():
        for owner, status in zip(imported, statuses, strict=True):
            response = await upload(client, NATIONAL, owner=owner, headers=headers)
            assert response.status_code == status, (name, owner, response.text)
            imported[owner] |= status == 200
            listed = await client.get(URL, params={"owner": owner}, headers=ANONYMOUS)
            assert listed.json()["total"] == (2 if imported[owner] else 0), (name, owner)


@covers(
    "GET /support-measures",
    "GET /support-measures/{measure_id}",
    "GET /support-measures/{measure_id}/history",
)
async def test_who_reads_a_catalogue(client: httpx.AsyncClient) -> None:
    assert (await upload(client, NATIONAL, owner="region:24", headers=CENTRE)).status_code == 200
    # Per caller: the list and one measure (public reads), its history (authenticated callers).
    matrix = {
        "admin": (ADMIN, 200, 200),
        "centre": (CENTRE, 200, 200),
        "loiret": (LOIRET, 200, 200),
        "occitanie": (identity_headers("coordinator", "76"), 200, 200),
        "contributor": (identity_headers("contributor", "244500468"), 200, 200),
        "reader": (identity_headers("reader"), 200, 200),
        "anonymous": (ANONYMOUS, 200, 401),
    }
    for name, (headers, read_status, history_status) in matrix.items():
        listed = await client.get(URL, params={"owner": "region:24"}, headers=headers)
        assert (listed.status_code, listed.json()["total"]) == (read_status, 2), name
        measure = listed.json()["items"][0]
        one = await client.get(f"{URL}/{measure['id']}", headers=headers)
        assert (one.status_code, one.json()) == (read_status, measure), name
        history = await client.get(f"{URL}/{measure['id']}/history", headers=headers)
        assert history.status_code == history_status, (name, history.text)


async def test_owners_catalogues_are_apart_and_filter_by_owner(client: httpx.AsyncClient) -> None:
    assert (await upload(client, NATIONAL)).status_code == 200
    regional = (
        NATIONAL.splitlines()[0]
        + "\n"
        + NATIONAL.splitlines()[1].replace("État (DDT)", "Région Centre")
        + "\n"
    )
    assert (await upload(client, regional, owner="region:24", headers=CENTRE)).json()["created"] == 1
    assert (await client.get(URL, params={"lever_id": "augm_haies"}, headers=ANONYMOUS)).json()["total"] == 2
    mine = await client.get(URL, params={"owner": "region:24"}, headers=ANONYMOUS)
    assert [item["carrier"] for item in mine.json()["items"]] == ["Région Centre"]
    kinds = await client.get(
        URL, params=[("support_type", "ingenierie"), ("audience", "commune")], headers=ANONYMOUS
    )
    assert kinds.json()["total"] == 2


async def test_wrong_media_type_and_bad_owner_are_problems(client: httpx.AsyncClient) -> None:
    wrong = await upload(client, NATIONAL, media_type="application/json")
    assert wrong.status_code == 415
    bad_owner = await client.post(
        f"{URL}/imports", params={"owner": "partout"}, content=NATIONAL, headers=ADMIN | CSV
    )
    assert bad_owner.status_code == 422
