"""Working groups of the debate: their owner's coordinators (and admins) write them, the participants of
the owner's région read them; levers and member collectivités are checked against the levers service."""

from __future__ import annotations

from typing import Any

import httpx

from planeco_shared.testing import assert_problem, assert_restore, identity_headers

from .permission_matrix import covers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
CHER = identity_headers("coordinator", "departement:18")
OCCITANIE = identity_headers("coordinator", "76")
ORLEANS = identity_headers("contributor", "45234")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
CALLERS = {
    "admin": ADMIN,
    "centre": CENTRE,
    "loiret": LOIRET,
    "cher": CHER,
    "occitanie": OCCITANIE,
    "orleans": ORLEANS,
    "reader": READER,
    "anonymous": ANONYMOUS,
}
URL = "/api/v1/debates/working-groups"


def group(level: str, code: str, **fields: Any) -> dict[str, Any]:
    return {
        "owner": {"level": level, "code": code},
        "name": "Se déplacer dans le Loiret",
        "theme": "mobilité",
        "lever_ids": ["augm_vélotc"],
        "members": [
            {
                "kind": "personne",
                "name": "Claire Martin",
                "organisation": "DDT du Loiret",
                "role": "animatrice",
            },
            {"kind": "collectivite", "territory": {"level": "commune", "code": "45234"}, "role": "membre"},
        ],
    } | fields


async def _create(client: httpx.AsyncClient, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    response = await client.post(URL, json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    created["etag"] = response.headers["etag"]
    return created


async def test_create_read_and_members_named(client: httpx.AsyncClient) -> None:
    created = await _create(client, group("departement", "45"), LOIRET)
    assert created["owner"] == {"level": "departement", "code": "45"}
    assert created["region"] == "24"
    assert created["status"] == "actif"
    assert created["members"][1] == {
        "kind": "collectivite",
        "name": "Orléans",
        "organisation": None,
        "territory": {"level": "commune", "code": "45234", "name": "Orléans"},
        "role": "membre",
    }
    assert created["members"][0]["organisation"] == "DDT du Loiret"
    read = await client.get(f"{URL}/{created['id']}", headers=ORLEANS)
    assert read.status_code == 200, read.text
    assert read.headers["etag"] == created["etag"]
    assert read.json()["name"] == "Se déplacer dans le Loiret"


@covers(
    "POST /debates/working-groups",
)
async def test_who_may_create_for_which_owner(client: httpx.AsyncClient) -> None:
    expected = {
        ("region", "24"): {"admin": 201, "centre": 201, "loiret": 403, "cher": 403, "occitanie": 403},
        ("departement", "45"): {"admin": 201, "centre": 201, "loiret": 201, "cher": 403, "occitanie": 403},
        ("region", "76"): {"admin": 201, "centre": 403, "loiret": 403, "cher": 403, "occitanie": 201},
    }
    for (level, code), statuses in expected.items():
        for name, status in statuses.items():
            response = await client.post(URL, json=group(level, code), headers=CALLERS[name])
            assert response.status_code == status, (level, code, name, response.text)
    for name, status in (("orleans", 403), ("reader", 403), ("anonymous", 401)):
        response = await client.post(URL, json=group("departement", "45"), headers=CALLERS[name])
        assert response.status_code == status, (name, response.text)


@covers(
    "GET /debates/working-groups/{group_id}",
    "GET /debates/working-groups/{group_id}/history",
    "GET /debates/working-groups",
    "PATCH /debates/working-groups/{group_id}",
    "DELETE /debates/working-groups/{group_id}",
    "POST /debates/working-groups/{group_id}/restore",
)
async def test_who_reads_changes_archives_and_restores(client: httpx.AsyncClient) -> None:
    # Per caller: read (the group, its history, and finding it in the list), PATCH, archive (each on a
    # fresh group of the Loiret).
    matrix = {
        "admin": (200, 200, 204),
        "centre": (200, 200, 204),
        "loiret": (200, 200, 204),
        "cher": (200, 403, 403),  # a participant of the région reads, writes nothing of the Loiret's
        "orleans": (200, 403, 403),
        "reader": (200, 403, 403),
        "occitanie": (404, 404, 404),  # another région's: as if it did not exist
        "anonymous": (401, 401, 401),
    }
    for name, (read_status, patch_status, archive_status) in matrix.items():
        headers = CALLERS[name]
        created = await _create(client, group("departement", "45"), ADMIN)
        url = f"{URL}/{created['id']}"
        assert (await client.get(url, headers=headers)).status_code == read_status, name
        assert (await client.get(f"{url}/history", headers=headers)).status_code == read_status, name
        listed = await client.get(URL, params={"page_size": 200}, headers=headers)
        assert listed.status_code == (401 if read_status == 401 else 200), name
        if read_status != 401:
            found = created["id"] in {item["id"] for item in listed.json()["items"]}
            assert found is (read_status == 200), name
        patched = await client.patch(
            url, json={"status": "clos"}, headers=headers | {"if-match": created["etag"]}
        )
        assert patched.status_code == patch_status, (name, patched.text)
        etag = patched.headers["etag"] if patch_status == 200 else created["etag"]
        archived = await client.delete(url, headers=headers | {"if-match": etag})
        assert archived.status_code == archive_status, (name, archived.text)
        restored = await assert_restore(client, url, headers, archive_status, admin=ADMIN)
        if archive_status == 204:
            assert restored.json()["archived_at"] is None


async def test_list_is_scoped_and_filtered(client: httpx.AsyncClient) -> None:
    loiret = await _create(client, group("departement", "45", lever_ids=["augm_haies"]), LOIRET)
    centre = await _create(client, group("region", "24", name="Se nourrir en Centre-Val de Loire"), CENTRE)
    occitanie = await _create(client, group("region", "76", members=[]), OCCITANIE)

    async def ids(headers: dict[str, str], query: str = "") -> set[str]:
        response = await client.get(f"{URL}?page_size=500{query}", headers=headers)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}

    mine = {loiret["id"], centre["id"]}
    assert mine <= await ids(CHER)
    assert occitanie["id"] not in await ids(CHER)
    assert occitanie["id"] not in await ids(ORLEANS)
    assert {loiret["id"], centre["id"], occitanie["id"]} <= await ids(READER)
    assert loiret["id"] in await ids(ADMIN, "&owner=departement:45")
    assert centre["id"] not in await ids(ADMIN, "&owner=departement:45")
    assert {loiret["id"], centre["id"]} <= await ids(ADMIN, "&region=24")
    haies = await ids(ADMIN, "&lever_id=augm_haies")
    assert loiret["id"] in haies and centre["id"] not in haies
    assert centre["id"] not in await ids(ADMIN, "&status=clos")
    assert_problem(await client.get(f"{URL}?owner=nation", headers=ADMIN), 422)
    assert_problem(await client.get(f"{URL}?sort=members", headers=ADMIN), 422)
    assert (await client.get(f"{URL}?sort=name&descending=true", headers=ADMIN)).status_code == 200


async def test_bad_input_is_a_problem_naming_the_field(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], list[str | int]]] = [
        (group("departement", "99"), ["body", "owner", "code"]),
        (group("region", "45x"), ["body", "owner"]),
        (group("departement", "45", lever_ids=["pas_un_levier"]), ["body", "lever_ids", 0]),
        (group("departement", "45", lever_ids=["augm_haies", "augm_haies"]), ["body", "lever_ids", 1]),
        (
            group(
                "departement",
                "45",
                members=[{"kind": "collectivite", "territory": {"level": "commune", "code": "45999"}}],
            ),
            ["body", "members", 0, "territory"],
        ),
        (group("departement", "45", members=[{"kind": "personne"}]), ["body", "members", 0]),
        (group("departement", "45", name="\x00\x00\x00"), ["body", "name"]),
        (group("departement", "45", colour="vert"), ["body", "colour"]),
    ]
    for body, loc in cases:
        problem = assert_problem(await client.post(URL, json=body, headers=ADMIN), 422)
        locs = [error["loc"][: len(loc)] for error in problem["errors"]]
        assert loc in locs, (body, problem)
    created = await _create(client, group("departement", "45"), ADMIN)
    url = f"{URL}/{created['id']}"
    assert_problem(
        await client.patch(url, json={"name": None}, headers=ADMIN | {"if-match": created["etag"]}), 422
    )
    assert_problem(await client.patch(url, json={"status": "clos"}, headers=ADMIN), 428)
    stale = await client.patch(url, json={"status": "clos"}, headers=ADMIN | {"if-match": '"stale"'})
    assert_problem(stale, 412)
    assert stale.headers["etag"] == created["etag"]
    assert_problem(await client.get(f"{URL}/not-a-uuid", headers=ADMIN), 422)


async def test_history_lists_who_changed_what(client: httpx.AsyncClient) -> None:
    created = await _create(client, group("departement", "45"), LOIRET)
    url = f"{URL}/{created['id']}"
    patched = await client.patch(
        url,
        json={"theme": "mobilité du quotidien", "lever_ids": ["augm_vélotc", "augm_haies"]},
        headers=CENTRE | {"if-match": created["etag"]},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["revision"] == created["revision"] + 1
    archived = await client.delete(url, headers=CENTRE | {"if-match": patched.headers["etag"]})
    assert archived.status_code == 204
    history = await client.get(f"{url}/history", headers=ORLEANS)
    assert history.status_code == 200, history.text
    entries = history.json()["items"]
    assert [entry["action"] for entry in entries] == ["archive", "update", "create"]
    update = entries[1]
    assert [change["field"] for change in update["changes"]] == ["theme", "lever_ids"]
    assert update["changes"][0] == {"field": "theme", "old": "mobilité", "new": "mobilité du quotidien"}
    assert [c["field"] for c in entries[2]["changes"]][:3] == ["owner_level", "owner_code", "owner_region"]
    assert (await client.get(f"{url}/history", headers=OCCITANIE)).status_code == 404
