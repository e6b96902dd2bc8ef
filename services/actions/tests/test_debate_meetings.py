"""Meetings of a working group: written by those who manage the group, read by its région's participants;
the synthesis is French text of any length, the documents links."""

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
GROUPS = "/api/v1/debates/working-groups"
MEETINGS = "/api/v1/debates/meetings"
SYNTHESIS = (
    "Séance consacrée au vélo du quotidien. Les participants — élus, agents de la DDT, associations — ont "
    "dressé l'état des lieux des aménagements cyclables du Loiret et retenu trois pistes : résorber les "
    "discontinuités, sécuriser les abords des collèges, développer le stationnement en gare.\n"
) * 100


def meeting(**fields: Any) -> dict[str, Any]:
    return {
        "date": "2026-03-12",
        "place": "Hôtel du département, Orléans",
        "title": "Le vélo au quotidien",
        "synthesis": SYNTHESIS,
        "documents": [{"title": "Compte rendu", "url": "https://www.loiret.fr/cop/cr-2026-03-12.pdf"}],
    } | fields


async def _group(client: httpx.AsyncClient, level: str = "departement", code: str = "45") -> str:
    body = {"owner": {"level": level, "code": code}, "name": "Se déplacer", "theme": "mobilité"}
    response = await client.post(GROUPS, json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_a_meeting_with_its_long_synthesis(client: httpx.AsyncClient) -> None:
    group_id = await _group(client)
    created = await client.post(f"{GROUPS}/{group_id}/meetings", json=meeting(), headers=LOIRET)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["group_id"] == group_id
    assert body["synthesis"] == SYNTHESIS
    assert body["documents"][0]["url"] == "https://www.loiret.fr/cop/cr-2026-03-12.pdf"
    assert created.headers["location"] == f"/api/v1/debates/meetings/{body['id']}"
    later = await client.post(
        f"{GROUPS}/{group_id}/meetings", json=meeting(date="2026-05-04", synthesis=""), headers=CENTRE
    )
    earlier = await client.post(
        f"{GROUPS}/{group_id}/meetings", json=meeting(date="2026-01-20"), headers=CENTRE
    )
    listed = await client.get(f"{GROUPS}/{group_id}/meetings", headers=ORLEANS)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [
        earlier.json()["id"],
        body["id"],
        later.json()["id"],
    ]
    assert listed.json()["total"] == 3


@covers(
    "POST /debates/working-groups/{group_id}/meetings",
    "GET /debates/meetings/{meeting_id}",
    "GET /debates/working-groups/{group_id}/meetings",
    "PATCH /debates/meetings/{meeting_id}",
    "DELETE /debates/meetings/{meeting_id}",
    "POST /debates/meetings/{meeting_id}/restore",
    "GET /debates/meetings/{meeting_id}/history",
)
async def test_who_writes_and_reads_meetings(client: httpx.AsyncClient) -> None:
    # Per caller: create, read, PATCH, archive (a meeting of a group of the Loiret).
    matrix = {
        "admin": (201, 200, 200, 204),
        "centre": (201, 200, 200, 204),
        "loiret": (201, 200, 200, 204),
        "cher": (403, 200, 403, 403),
        "orleans": (403, 200, 403, 403),
        "reader": (403, 200, 403, 403),
        "occitanie": (404, 404, 404, 404),
        "anonymous": (401, 401, 401, 401),
    }
    group_id = await _group(client)
    for name, (create_status, read_status, patch_status, archive_status) in matrix.items():
        headers = CALLERS[name]
        attempt = await client.post(f"{GROUPS}/{group_id}/meetings", json=meeting(), headers=headers)
        assert attempt.status_code == create_status, (name, attempt.text)
        created = await client.post(f"{GROUPS}/{group_id}/meetings", json=meeting(), headers=ADMIN)
        url = f"{MEETINGS}/{created.json()['id']}"
        etag = created.headers["etag"]
        assert (await client.get(url, headers=headers)).status_code == read_status, name
        listed = await client.get(f"{GROUPS}/{group_id}/meetings", headers=headers)
        assert listed.status_code == read_status, name
        patched = await client.patch(
            url, json={"synthesis": "Nouvelle synthèse"}, headers=headers | {"if-match": etag}
        )
        assert patched.status_code == patch_status, (name, patched.text)
        etag = patched.headers["etag"] if patch_status == 200 else etag
        archived = await client.delete(url, headers=headers | {"if-match": etag})
        assert archived.status_code == archive_status, (name, archived.text)
        await assert_restore(client, url, headers, archive_status, admin=ADMIN)
        history = await client.get(f"{url}/history", headers=headers)
        assert history.status_code == read_status, name


async def test_meeting_history_and_bad_input(client: httpx.AsyncClient) -> None:
    group_id = await _group(client)
    url = f"{GROUPS}/{group_id}/meetings"
    for body, loc in [
        (meeting(date="2026-02-30"), ["body", "date"]),
        (meeting(date=None), ["body", "date"]),
        (meeting(documents=[{"title": "CR", "url": "ftp://x"}]), ["body", "documents", 0, "url"]),
        (meeting(synthesis="a\x00b"), ["body", "synthesis"]),
        (meeting(minutes="…"), ["body", "minutes"]),
    ]:
        problem = assert_problem(await client.post(url, json=body, headers=ADMIN), 422)
        assert loc in [error["loc"][: len(loc)] for error in problem["errors"]], (body, problem)
    unknown = "00000000-0000-0000-0000-000000000000"
    assert_problem(await client.post(f"{GROUPS}/{unknown}/meetings", json=meeting(), headers=ADMIN), 404)
    assert_problem(await client.get(f"{MEETINGS}/{unknown}", headers=ADMIN), 404)

    created = await client.post(url, json=meeting(), headers=LOIRET)
    meeting_url = f"{MEETINGS}/{created.json()['id']}"
    assert_problem(await client.patch(meeting_url, json={"date": "2026-03-13"}, headers=LOIRET), 428)
    assert_problem(
        await client.patch(
            meeting_url, json={"date": None}, headers=LOIRET | {"if-match": created.headers["etag"]}
        ),
        422,
    )
    patched = await client.patch(
        meeting_url,
        json={"date": "2026-03-13", "synthesis": "Synthèse relue."},
        headers=LOIRET | {"if-match": created.headers["etag"]},
    )
    assert patched.status_code == 200, patched.text
    entries = (await client.get(f"{meeting_url}/history", headers=CHER)).json()["items"]
    assert [entry["action"] for entry in entries] == ["update", "create"]
    assert entries[0]["changes"] == [
        {"field": "date", "old": "2026-03-12", "new": "2026-03-13"},
        {"field": "synthesis", "old": SYNTHESIS, "new": "Synthèse relue."},
    ]
    # An archived group's meetings are out of sight with it.
    group = await client.get(f"{GROUPS}/{group_id}", headers=ADMIN)
    assert (
        await client.delete(f"{GROUPS}/{group_id}", headers=ADMIN | {"if-match": group.headers["etag"]})
    ).status_code == 204
    assert_problem(await client.get(meeting_url, headers=ADMIN), 404)
