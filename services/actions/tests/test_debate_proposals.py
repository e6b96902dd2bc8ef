"""Proposals of a working group, tied to levers, and their promotion to a COP action: both keep the link,
promoting twice is a 409; written by those who manage the group, read by its région's participants."""

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
PROPOSALS = "/api/v1/debates/proposals"


def proposal(**fields: Any) -> dict[str, Any]:
    return {
        "title": "Résorber les discontinuités cyclables",
        "description": "Relier les itinéraires existants entre Orléans et les communes voisines.",
        "lever_ids": ["augm_vélotc", "augm_haies"],
        "proposer": {"kind": "collectivite", "territory": {"level": "commune", "code": "45234"}},
    } | fields


async def _group(client: httpx.AsyncClient, level: str = "departement", code: str = "45") -> str:
    body = {"owner": {"level": level, "code": code}, "name": "Se déplacer", "theme": "mobilité"}
    response = await client.post(GROUPS, json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _proposal(client: httpx.AsyncClient, group_id: str, **fields: Any) -> httpx.Response:
    response = await client.post(f"{GROUPS}/{group_id}/proposals", json=proposal(**fields), headers=ADMIN)
    assert response.status_code == 201, response.text
    return response


async def test_promotion_links_the_proposal_and_the_action(client: httpx.AsyncClient) -> None:
    group_id = await _group(client)
    meeting = await client.post(f"{GROUPS}/{group_id}/meetings", json={"date": "2026-03-12"}, headers=LOIRET)
    created = await client.post(
        f"{GROUPS}/{group_id}/proposals",
        json=proposal(meeting_id=meeting.json()["id"]),
        headers=LOIRET,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["status"], body["action_id"], body["meeting_id"]) == ("ouverte", None, meeting.json()["id"])
    assert body["proposer"]["name"] == "Orléans"
    url = f"{PROPOSALS}/{body['id']}"

    promoted = await client.post(
        f"{url}/promote", json={"status": "retenue"}, headers=LOIRET | {"if-match": created.headers["etag"]}
    )
    assert promoted.status_code == 201, promoted.text
    action = promoted.json()
    assert action["proposal_id"] == body["id"]
    assert (action["title"], action["status"]) == ("Résorber les discontinuités cyclables", "retenue")
    assert (action["lever_id"], action["other_lever_ids"]) == ("augm_vélotc", ["augm_haies"])
    assert action["territory"] == {"level": "departement", "code": "45", "name": "Loiret"}
    read_action = await client.get(f"/api/v1/actions/{action['id']}", headers=CHER)
    assert read_action.json()["proposal_id"] == body["id"]

    after = await client.get(url, headers=ORLEANS)
    assert (after.json()["status"], after.json()["action_id"]) == ("promue", action["id"])
    again = await client.post(f"{url}/promote", json={}, headers=LOIRET | {"if-match": after.headers["etag"]})
    assert assert_problem(again, 409)["code"] == "already-promoted"
    stays = await client.patch(
        url, json={"status": "ouverte"}, headers=LOIRET | {"if-match": after.headers["etag"]}
    )
    assert_problem(stays, 422)
    history = (await client.get(f"{url}/history", headers=READER)).json()["items"]
    assert [entry["action"] for entry in history] == ["promote", "create"]
    assert history[0]["changes"] == [
        {"field": "status", "old": "ouverte", "new": "promue"},
        {"field": "action_id", "old": None, "new": action["id"]},
    ]


async def test_promotion_on_a_given_territory_within_the_callers_scope(client: httpx.AsyncClient) -> None:
    group_id = await _group(client, "region", "24")
    created = await _proposal(client, group_id)
    url = f"{PROPOSALS}/{created.json()['id']}"
    etag = created.headers["etag"]
    bad = await client.post(
        f"{url}/promote", json={"status": "en_cours"}, headers=CENTRE | {"if-match": etag}
    )
    assert_problem(bad, 422)
    elsewhere = await client.post(
        f"{url}/promote",
        json={"territory": {"level": "commune", "code": "31555"}},
        headers=CENTRE | {"if-match": etag},
    )
    assert_problem(elsewhere, 403)
    assert_problem(await client.post(f"{url}/promote", json={}, headers=CENTRE), 428)
    promoted = await client.post(
        f"{url}/promote",
        json={"territory": {"level": "epci", "code": "244500468"}},
        headers=CENTRE | {"if-match": etag},
    )
    assert promoted.status_code == 201, promoted.text
    assert promoted.json()["status"] == "proposee"
    assert promoted.json()["territory"]["code"] == "244500468"


@covers(
    "POST /debates/working-groups/{group_id}/proposals",
    "GET /debates/proposals/{proposal_id}",
    "GET /debates/working-groups/{group_id}/proposals",
    "GET /debates/proposals/{proposal_id}/history",
    "PATCH /debates/proposals/{proposal_id}",
    "POST /debates/proposals/{proposal_id}/promote",
    "DELETE /debates/proposals/{proposal_id}",
    "POST /debates/proposals/{proposal_id}/restore",
)
async def test_who_writes_reads_and_promotes_proposals(client: httpx.AsyncClient) -> None:
    # Per caller: create, read (one and the list), PATCH, archive, promote (a group of the Loiret's).
    matrix = {
        "admin": (201, 200, 200, 204, 201),
        "centre": (201, 200, 200, 204, 201),
        "loiret": (201, 200, 200, 204, 201),
        "cher": (403, 200, 403, 403, 403),
        "orleans": (403, 200, 403, 403, 403),
        "reader": (403, 200, 403, 403, 403),
        "occitanie": (404, 404, 404, 404, 404),
        "anonymous": (401, 401, 401, 401, 401),
    }
    group_id = await _group(client)
    for name, (create_status, read_status, patch_status, archive_status, promote_status) in matrix.items():
        headers = CALLERS[name]
        attempt = await client.post(f"{GROUPS}/{group_id}/proposals", json=proposal(), headers=headers)
        assert attempt.status_code == create_status, (name, attempt.text)
        created = await _proposal(client, group_id)
        url = f"{PROPOSALS}/{created.json()['id']}"
        etag = created.headers["etag"]
        assert (await client.get(url, headers=headers)).status_code == read_status, name
        listed = await client.get(f"{GROUPS}/{group_id}/proposals", headers=headers)
        assert listed.status_code == read_status, name
        assert (await client.get(f"{url}/history", headers=headers)).status_code == read_status, name
        patched = await client.patch(url, json={"status": "retenue"}, headers=headers | {"if-match": etag})
        assert patched.status_code == patch_status, (name, patched.text)
        etag = patched.headers["etag"] if patch_status == 200 else etag
        promoted = await client.post(f"{url}/promote", json={}, headers=headers | {"if-match": etag})
        assert promoted.status_code == promote_status, (name, promoted.text)
        other = await _proposal(client, group_id)
        other_url = f"{PROPOSALS}/{other.json()['id']}"
        archived = await client.delete(other_url, headers=headers | {"if-match": other.headers["etag"]})
        assert archived.status_code == archive_status, (name, archived.text)
        await assert_restore(client, other_url, headers, archive_status, admin=ADMIN)


async def test_proposal_lists_and_bad_input(client: httpx.AsyncClient) -> None:
    group_id = await _group(client)
    other_group = await _group(client)
    meeting = await client.post(
        f"{GROUPS}/{other_group}/meetings", json={"date": "2026-03-12"}, headers=ADMIN
    )
    url = f"{GROUPS}/{group_id}/proposals"
    for body, loc in [
        (proposal(lever_ids=[]), ["body", "lever_ids"]),
        (proposal(lever_ids=["pas_un_levier"]), ["body", "lever_ids", 0]),
        (proposal(status="promue"), ["body", "status"]),
        (proposal(meeting_id=meeting.json()["id"]), ["body", "meeting_id"]),
        (
            proposal(proposer={"kind": "collectivite", "territory": {"level": "commune", "code": "45999"}}),
            ["body", "proposer", "territory"],
        ),
        (proposal(title="ab"), ["body", "title"]),
    ]:
        problem = assert_problem(await client.post(url, json=body, headers=ADMIN), 422)
        assert loc in [error["loc"][: len(loc)] for error in problem["errors"]], (body, problem)
    haies = await _proposal(client, group_id, lever_ids=["augm_haies"], proposer=None)
    velo = await _proposal(client, group_id, lever_ids=["augm_vélotc"], status="ecartee")

    async def ids(query: str) -> list[str]:
        response = await client.get(f"{url}?{query}", headers=ORLEANS)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert await ids("lever_id=augm_haies") == [haies.json()["id"]]
    assert await ids("status=ecartee") == [velo.json()["id"]]
    assert await ids("") == [haies.json()["id"], velo.json()["id"]]
    assert_problem(await client.get(f"{url}?status=promise", headers=ADMIN), 422)
