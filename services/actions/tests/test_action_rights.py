"""Who writes which action: coordinators on their territory and what lies in it, contributors propose for
their own collectivité, coordinators accept or refuse, admins everything; published actions are public."""

from __future__ import annotations

from typing import Any

import httpx

from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
OCCITANIE = identity_headers("coordinator", "76")
ORLEANS = identity_headers("contributor", "45234")  # the commune, by INSEE code
ORLEANS_BY_SIREN = identity_headers("contributor", "214502346")
TOURS = identity_headers("contributor", "37261")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")


def action(level: str, code: str, **fields: Any) -> dict[str, Any]:
    return {"title": "Végétaliser les cours d'école", "territory": {"level": level, "code": code}} | fields


async def test_who_may_create_on_which_territory(client: httpx.AsyncClient) -> None:
    matrix = {
        ("region", "24"): {"admin": 201, "centre": 201, "loiret": 403, "occitanie": 403, "orleans": 403},
        ("departement", "45"): {"admin": 201, "centre": 201, "loiret": 201, "occitanie": 403, "orleans": 403},
        ("epci", "244500468"): {"admin": 201, "centre": 201, "loiret": 201, "occitanie": 403, "orleans": 403},
        ("commune", "45234"): {"admin": 201, "centre": 201, "loiret": 201, "occitanie": 403, "orleans": 201},
        ("commune", "37261"): {"admin": 201, "centre": 201, "loiret": 403, "occitanie": 403, "orleans": 403},
    }
    callers = {"admin": ADMIN, "centre": CENTRE, "loiret": LOIRET, "occitanie": OCCITANIE, "orleans": ORLEANS}
    for (level, code), expected in matrix.items():
        for name, status in expected.items():
            response = await client.post("/api/v1/actions", json=action(level, code), headers=callers[name])
            assert response.status_code == status, (level, code, name, response.text)
    for headers in (READER, ANONYMOUS):
        response = await client.post("/api/v1/actions", json=action("commune", "45234"), headers=headers)
        assert response.status_code in (401, 403)


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


async def test_published_actions_are_public_reads(client: httpx.AsyncClient) -> None:
    published = await client.post(
        "/api/v1/actions", json=action("region", "24", published=True), headers=CENTRE
    )
    private = await client.post("/api/v1/actions", json=action("region", "24"), headers=CENTRE)
    assert published.status_code == private.status_code == 201
    listed = await client.get("/api/v1/published-actions", headers=ANONYMOUS)
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [published.json()["id"]]
    one = await client.get(f"/api/v1/published-actions/{published.json()['id']}", headers=ANONYMOUS)
    assert one.json() == published.json()
    hidden = await client.get(f"/api/v1/published-actions/{private.json()['id']}", headers=ANONYMOUS)
    assert hidden.status_code == 404
    # Not public otherwise: the actions list still needs credentials.
    assert (await client.get("/api/v1/actions", headers=ANONYMOUS)).status_code == 401
    archived = await client.delete(
        f"/api/v1/actions/{published.json()['id']}", headers=CENTRE | {"if-match": published.headers["etag"]}
    )
    assert archived.status_code == 204
    assert (await client.get("/api/v1/published-actions", headers=ANONYMOUS)).json()["total"] == 0
