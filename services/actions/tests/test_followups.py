"""Follow-up: dated progress updates per action (whoever may write the action reports them, audited, kept
as a history), and the actions past a deadline with no update since."""

from __future__ import annotations

from typing import Any

import httpx

from planeco_shared.testing import identity_headers

from .permission_matrix import covers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
CHER = identity_headers("coordinator", "departement:18")
OCCITANIE = identity_headers("coordinator", "76")
ORLEANS = identity_headers("contributor", "45234")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
CARS = "augm_voitelec"


async def act(client: httpx.AsyncClient, headers: dict[str, str] = ADMIN, **fields: Any) -> dict[str, Any]:
    body = {
        "title": "Bornes de recharge dans le Loiret",
        "territory": {"level": "departement", "code": "45"},
        "lever_id": CARS,
        "status": "retenue",
        "impacts": [{"lever_id": CARS, "physical": "5"}],
    } | fields
    response = await client.post("/api/v1/actions", json=body, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def progress(**fields: Any) -> dict[str, Any]:
    return {"reported_on": "2026-06-30", "percent_done": "40"} | fields


async def test_a_progress_update_is_kept_audited_and_listed_newest_first(client: httpx.AsyncClient) -> None:
    action = await act(client)
    url = f"/api/v1/actions/{action['id']}/progress-updates"
    first = await client.post(
        url,
        json=progress(indicator_value="2", spent_eur="45000", comment="Marché attribué."),
        headers=LOIRET,
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["status"], body["percent_done"], body["indicator_value"]) == ("retenue", "40.00", "2.000")
    assert (body["spent_eur"], body["indicator_unit"]) == ("45000.00", action["impacts"][0]["unit"])
    assert body["created_by"] == "test:coordinator:departement:45"
    assert first.headers["location"] == f"{url}/{body['id']}"
    assert (await client.get(first.headers["location"], headers=READER)).json() == body

    second = await client.post(
        url, json=progress(reported_on="2026-09-30", percent_done="100", status="realisee"), headers=CENTRE
    )
    assert second.status_code == 201, second.text
    # The update moved the action, audited on it; the follow-up keeps both updates, newest first.
    moved = (await client.get(f"/api/v1/actions/{action['id']}", headers=CENTRE)).json()
    assert (moved["status"], moved["revision"]) == ("realisee", action["revision"] + 1)
    history = (await client.get(f"/api/v1/actions/{action['id']}/history", headers=CENTRE)).json()
    assert history["items"][0]["changes"] == [{"field": "status", "old": "retenue", "new": "realisee"}]
    listed = (await client.get(url, headers=CENTRE)).json()
    assert [item["reported_on"] for item in listed["items"]] == ["2026-09-30", "2026-06-30"]
    assert listed["total"] == 2


@covers(
    "POST /actions/{action_id}/progress-updates",
    "GET /actions/{action_id}/progress-updates",
    "GET /actions/{action_id}/progress-updates/{update_id}",
    "GET /actions/overdue",
)
async def test_who_reports_progress_is_who_writes_the_action(client: httpx.AsyncClient) -> None:
    action = await act(client, start_date="2025-01-01", end_date="2026-12-31")  # overdue by 2030
    url = f"/api/v1/actions/{action['id']}/progress-updates"
    expected = {"admin": 201, "centre": 201, "loiret": 201, "cher": 403, "orleans": 403, "reader": 403}
    expected |= {"occitanie": 404, "anonymous": 401}
    callers = {"admin": ADMIN, "centre": CENTRE, "loiret": LOIRET, "cher": CHER, "orleans": ORLEANS}
    callers |= {"reader": READER, "occitanie": OCCITANIE, "anonymous": ANONYMOUS}
    for name, status in expected.items():
        response = await client.post(url, json=progress(), headers=callers[name])
        assert response.status_code == status, (name, response.text)
    # Reads: the list, one update, and the overdue actions (another région's caller sees its own only).
    (first, *_) = (await client.get(url, headers=ADMIN)).json()["items"]
    reads = {"admin": 200, "centre": 200, "loiret": 200, "cher": 200, "orleans": 200, "reader": 200}
    reads |= {"occitanie": 404, "anonymous": 401}
    overdue = {"as_of": "2030-01-01", "region": "24"}
    for name, status in reads.items():
        assert (await client.get(url, headers=callers[name])).status_code == status, name
        assert (await client.get(f"{url}/{first['id']}", headers=callers[name])).status_code == status, name
        listed = await client.get("/api/v1/actions/overdue", params=overdue, headers=callers[name])
        assert listed.status_code == (401 if status == 401 else 200), name
        if status != 401:
            found = action["id"] in {item["action_id"] for item in listed.json()["items"]}
            assert found is (status == 200), name

    # A contributor reports on its own proposal, without deciding its status.
    proposal = await act(
        client, ORLEANS, territory={"level": "commune", "code": "45234"}, status="proposee", impacts=[]
    )
    proposal_url = f"/api/v1/actions/{proposal['id']}/progress-updates"
    assert (await client.post(proposal_url, json=progress(), headers=ORLEANS)).status_code == 201
    refused = await client.post(proposal_url, json=progress(status="retenue"), headers=ORLEANS)
    assert refused.status_code == 403


async def test_bad_progress_updates_are_422_naming_the_field(client: httpx.AsyncClient) -> None:
    action = await act(
        client, impacts=[{"lever_id": CARS, "ktco2e": "1"}], lever_id="augm_vélotc", other_lever_ids=[CARS]
    )
    url = f"/api/v1/actions/{action['id']}/progress-updates"
    for body, loc in [
        (progress(percent_done="101"), ["body", "percent_done"]),
        (progress(reported_on="hier"), ["body", "reported_on"]),
        (progress(spent_eur="-1"), ["body", "spent_eur"]),
        (progress(comment="a\x00b"), ["body", "comment"]),
        (progress(extra=1), ["body", "extra"]),
        (progress(indicator_value="1"), ["body", "indicator_value"]),  # the main lever has no impact
    ]:
        response = await client.post(url, json=body, headers=CENTRE)
        assert response.status_code == 422, (body, response.text)
        assert [error["loc"] for error in response.json()["errors"]] == [loc]
    missing = "/api/v1/actions/00000000-0000-0000-0000-000000000000/progress-updates"
    assert (await client.post(missing, json=progress(), headers=CENTRE)).status_code == 404


async def test_overdue_actions_are_past_a_deadline_with_no_update_since(client: httpx.AsyncClient) -> None:
    ended = await act(
        client, title="Fin passée sans nouvelles", start_date="2025-01-01", end_date="2026-03-31"
    )
    milestone = await act(
        client,
        title="Jalon passé",
        start_date="2025-01-01",
        end_date="2028-12-31",
        phases=[{"kind": "jalon", "label": "Appel d'offres", "start_date": "2026-02-15"}],
    )
    reported = await act(client, title="Suivie à temps", start_date="2025-01-01", end_date="2026-03-31")
    await client.post(
        f"/api/v1/actions/{reported['id']}/progress-updates",
        json=progress(reported_on="2026-04-02"),
        headers=CENTRE,
    )
    stale = await act(client, title="Suivie avant le jalon", start_date="2025-01-01", end_date="2026-03-31")
    await client.post(
        f"/api/v1/actions/{stale['id']}/progress-updates",
        json=progress(reported_on="2026-01-10"),
        headers=CENTRE,
    )
    await act(client, title="Pas encore due", start_date="2025-01-01", end_date="2027-03-31")
    await act(client, title="Réalisée", end_date="2026-01-31", status="realisee")
    await act(client, title="Ailleurs", end_date="2026-01-31", territory={"level": "region", "code": "76"})

    response = await client.get("/api/v1/actions/overdue", params={"as_of": "2026-05-01"}, headers=CENTRE)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    # Oldest deadline first, the action id breaking ties.
    assert [(item["due_on"], item["action_id"]) for item in items] == sorted(
        (item["due_on"], item["action_id"]) for item in items
    )
    assert {(item["title"], item["due_on"], item["due"]) for item in items} == {
        ("Jalon passé", "2026-02-15", "Appel d'offres"),
        ("Fin passée sans nouvelles", "2026-03-31", "fin"),
        ("Suivie avant le jalon", "2026-03-31", "fin"),
    }
    last = {item["title"]: item["last_reported_on"] for item in items}
    assert (last["Suivie avant le jalon"], last["Jalon passé"]) == ("2026-01-10", None)
    assert {item["action_id"] for item in items} == {ended["id"], milestone["id"], stale["id"]}
    earlier = await client.get("/api/v1/actions/overdue", params={"as_of": "2026-03-01"}, headers=CENTRE)
    assert [item["title"] for item in earlier.json()["items"]] == ["Jalon passé"]
    national = await client.get(
        "/api/v1/actions/overdue", params={"as_of": "2026-05-01", "region": "76"}, headers=ADMIN
    )
    assert [item["title"] for item in national.json()["items"]] == ["Ailleurs"]
    hidden = await client.get("/api/v1/actions/overdue", params={"as_of": "2026-05-01"}, headers=OCCITANIE)
    assert [item["title"] for item in hidden.json()["items"]] == ["Ailleurs"]
    loiret = await client.get(
        "/api/v1/actions/overdue", params={"as_of": "2026-05-01", "departement": "18"}, headers=CENTRE
    )
    assert loiret.json()["total"] == 0
    assert (
        await client.get("/api/v1/actions/overdue", params={"as_of": "x"}, headers=CENTRE)
    ).status_code == 422
    assert (await client.get("/api/v1/actions/overdue", headers=ANONYMOUS)).status_code == 401
