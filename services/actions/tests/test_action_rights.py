"""Who writes which action: coordinators on their territory and what lies in it, contributors propose for
their own collectivité, coordinators accept or refuse, admins everything; published actions are public."""

from __future__ import annotations

from typing import Any

import httpx

from planeco_shared.testing import assert_restore, identity_headers

from .permission_matrix import covers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
OCCITANIE = identity_headers("coordinator", "76")
ORLEANS = identity_headers("contributor", "45234")  # the commune, by INSEE code
ORLEANS_BY_SIREN = identity_headers("contributor", "214502346")
TOURS = identity_headers("contributor", "37261")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
CALLERS = {
    "admin": ADMIN,
    "centre": CENTRE,
    "loiret": LOIRET,
    "occitanie": OCCITANIE,
    "orleans": ORLEANS,
    "reader": READER,
    "anonymous": ANONYMOUS,
}
CARS = "augm_voitelec"


def action(level: str, code: str, **fields: Any) -> dict[str, Any]:
    return {"title": "Végétaliser les cours d'école", "territory": {"level": level, "code": code}} | fields


@covers(
    "POST /actions",
)
async def test_who_may_create_on_which_territory(client: httpx.AsyncClient) -> None:
    matrix = {
        ("region", "24"): {"admin": 201, "centre": 201, "loiret": 403, "occitanie": 403, "orleans": 403},
        ("departement", "45"): {"admin": 201, "centre": 201, "loiret": 201, "occitanie": 403, "orleans": 403},
        ("epci", "244500468"): {"admin": 201, "centre": 201, "loiret": 201, "occitanie": 403, "orleans": 403},
        ("commune", "45234"): {"admin": 201, "centre": 201, "loiret": 201, "occitanie": 403, "orleans": 201},
        ("commune", "37261"): {"admin": 201, "centre": 201, "loiret": 403, "occitanie": 403, "orleans": 403},
    }
    for (level, code), expected in matrix.items():
        for name, status in expected.items():
            response = await client.post("/api/v1/actions", json=action(level, code), headers=CALLERS[name])
            assert response.status_code == status, (level, code, name, response.text)
    for name, status in (("reader", 403), ("anonymous", 401)):
        response = await client.post(
            "/api/v1/actions", json=action("commune", "45234"), headers=CALLERS[name]
        )
        assert response.status_code == status, (name, response.text)


@covers(
    "GET /actions/{action_id}",
    "GET /actions/{action_id}/history",
    "GET /actions",
    "PATCH /actions/{action_id}",
    "POST /actions/{action_id}/impacts/recompute",
    "DELETE /actions/{action_id}",
    "POST /actions/{action_id}/restore",
)
async def test_who_reads_changes_recomputes_archives_and_restores_an_action(
    client: httpx.AsyncClient,
) -> None:
    # Per caller, on a fresh chosen action of the Loiret: read (the action, its history, and finding it in
    # the list), PATCH, recompute its impacts, archive (then restore it).
    matrix = {
        "admin": (200, 200, 200, 204),
        "centre": (200, 200, 200, 204),
        "loiret": (200, 200, 200, 204),
        "occitanie": (404, 404, 404, 404),  # another région's: as if it did not exist
        "orleans": (200, 403, 403, 403),  # a participant of the région reads, decides nothing
        "reader": (200, 403, 403, 403),
        "anonymous": (401, 401, 401, 401),
    }
    for name, (read_status, patch_status, recompute_status, archive_status) in matrix.items():
        headers = CALLERS[name]
        body = action("departement", "45", status="retenue", lever_id=CARS)
        created = await client.post(
            "/api/v1/actions", json=body | {"impacts": [{"lever_id": CARS, "ktco2e": "1"}]}, headers=ADMIN
        )
        assert created.status_code == 201, created.text
        url = f"/api/v1/actions/{created.json()['id']}"
        assert (await client.get(url, headers=headers)).status_code == read_status, name
        assert (await client.get(f"{url}/history", headers=headers)).status_code == read_status, name
        listed = await client.get("/api/v1/actions", params={"page_size": 200}, headers=headers)
        assert listed.status_code == (401 if read_status == 401 else 200), name
        if read_status != 401:
            found = created.json()["id"] in {item["id"] for item in listed.json()["items"]}
            assert found is (read_status == 200), name
        etag = created.headers["etag"]
        patched = await client.patch(
            url, json={"description": "Phase 2"}, headers=headers | {"if-match": etag}
        )
        assert patched.status_code == patch_status, (name, patched.text)
        etag = patched.headers["etag"] if patch_status == 200 else etag
        recomputed = await client.post(
            f"{url}/impacts/recompute", params={"version": "2024-04-08"}, headers=headers | {"if-match": etag}
        )
        assert recomputed.status_code == recompute_status, (name, recomputed.text)
        etag = recomputed.headers["etag"] if recompute_status == 200 else etag
        archived = await client.delete(url, headers=headers | {"if-match": etag})
        assert archived.status_code == archive_status, (name, archived.text)
        await assert_restore(client, url, headers, archive_status, admin=ADMIN)


async def test_a_contributor_proposes_and_a_coordinator_decides(client: httpx.AsyncClient) -> None:
    proposed = await client.post(
        "/api/v1/actions", json=action("commune", "45234", status="realisee", published=True), headers=ORLEANS
    )
    assert proposed.status_code == 201, proposed.text
    assert (proposed.json()["status"], proposed.json()["published"]) == ("proposee", False)
    url = f"/api/v1/actions/{proposed.json()['id']}"

    # The contributor (by INSEE code or SIREN) changes its proposal, but does not decide on it.
    edited = await client.patch(
        url,
        json={"description": "Trois écoles"},
        headers=ORLEANS_BY_SIREN | {"if-match": proposed.headers["etag"]},
    )
    assert edited.status_code == 200, edited.text
    etag = edited.headers["etag"]
    for decision in ({"status": "retenue"}, {"published": True}):
        refused = await client.patch(url, json=decision, headers=ORLEANS | {"if-match": etag})
        assert refused.status_code == 403, decision
    assert (
        await client.patch(url, json={"title": "x" * 5}, headers=TOURS | {"if-match": etag})
    ).status_code == 403
    assert (await client.delete(url, headers=ORLEANS | {"if-match": etag})).status_code == 403

    # Another région's coordinator does not see it; the Loiret's accepts it.
    assert (
        await client.patch(url, json={"status": "retenue"}, headers=OCCITANIE | {"if-match": etag})
    ).status_code == 404
    accepted = await client.patch(url, json={"status": "retenue"}, headers=LOIRET | {"if-match": etag})
    assert (accepted.status_code, accepted.json()["status"]) == (200, "retenue")
    # Once decided, it is the coordinators' to change.
    late = await client.patch(
        url, json={"description": "Quatre écoles"}, headers=ORLEANS | {"if-match": accepted.headers["etag"]}
    )
    assert late.status_code == 403
    history = (await client.get(f"{url}/history", headers=CENTRE)).json()["items"]
    assert [(e["action"], e["actor"]) for e in history] == [
        ("update", "test:coordinator:departement:45"),
        ("update", "test:contributor:214502346"),
        ("create", "test:contributor:45234"),
    ]
    assert history[0]["changes"] == [{"field": "status", "old": "proposee", "new": "retenue"}]

    refused = await client.post("/api/v1/actions", json=action("commune", "45234"), headers=ORLEANS)
    decided = await client.patch(
        f"/api/v1/actions/{refused.json()['id']}",
        json={"status": "abandonnee"},
        headers=CENTRE | {"if-match": refused.headers["etag"]},
    )
    assert decided.json()["status"] == "abandonnee"


@covers(
    "GET /published-actions",
    "GET /published-actions/{action_id}",
)
async def test_published_actions_are_public_reads(client: httpx.AsyncClient) -> None:
    published = await client.post(
        "/api/v1/actions", json=action("region", "24", published=True), headers=CENTRE
    )
    private = await client.post("/api/v1/actions", json=action("region", "24"), headers=CENTRE)
    assert published.status_code == private.status_code == 201
    listed = await client.get("/api/v1/published-actions", headers=ANONYMOUS)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [published.json()["id"]]
    for name, headers in CALLERS.items():  # public: every caller reads the same
        listed = await client.get("/api/v1/published-actions", headers=headers)
        assert listed.status_code == 200, (name, listed.text)
        assert [item["id"] for item in listed.json()["items"]] == [published.json()["id"]], name
        one = await client.get(f"/api/v1/published-actions/{published.json()['id']}", headers=headers)
        assert (one.status_code, one.json()) == (200, published.json()), name
    hidden = await client.get(f"/api/v1/published-actions/{private.json()['id']}", headers=ANONYMOUS)
    assert hidden.status_code == 404
    # Not public otherwise: the actions list still needs credentials.
    assert (await client.get("/api/v1/actions", headers=ANONYMOUS)).status_code == 401
    archived = await client.delete(
        f"/api/v1/actions/{published.json()['id']}", headers=CENTRE | {"if-match": published.headers["etag"]}
    )
    assert archived.status_code == 204
    assert (await client.get("/api/v1/published-actions", headers=ANONYMOUS)).json()["total"] == 0
