"""The Aides-territoires sync end to end: the real gateway, the real services on loopback, the fake
Aides-territoires as its own process. An admin starts runs through the API; a coordinator searches the
catalogue by lever and territory and reads what may fund an action."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

RUNS = "/api/v1/aids/sync-runs"


async def sync(http: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, Any]:
    """Start a run through the gateway and wait for its record to say it ended."""
    started = await http.post(RUNS, headers=admin)
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    for _ in range(600):
        run: dict[str, Any] = (await http.get(location, headers=admin)).json()
        if run["finished_at"] is not None:
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"the run at {location} did not end")


async def catalogue(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, tuple[str, bool]]:
    """Every aid of the local catalogue: id → (its upstream `date_updated`, live or not)."""
    found: dict[str, tuple[str, bool]] = {}
    for live in ("true", "false"):
        listed = await http.get("/api/v1/aids", params={"page_size": 500, "live": live}, headers=headers)
        assert listed.status_code == 200, listed.text
        found |= {aid["id"]: (aid["date_updated"], aid["is_live"]) for aid in listed.json()["items"]}
    return found


@pytest.mark.asyncio(loop_scope="session")
async def test_the_catalogue_syncs_and_serves_searches_and_funding_through_the_gateway(
    gateway: str, make_key: Any, fake_aides_territoires: str
) -> None:
    admin = {"X-API-Key": await make_key("admin")}
    centre = {"X-API-Key": await make_key("coordinator", "24")}
    occitanie = {"X-API-Key": await make_key("coordinator", "76")}
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as http:
        assert (await http.post(RUNS, headers=centre)).status_code == 403  # starting a run is the admins'

        first = await sync(http, admin)
        assert first["outcome"] == "succeeded", first
        assert (first["inserted"], first["pages"]) == (120, 2)
        again = await sync(http, admin)
        assert (again["inserted"], again["updated"], again["unchanged"]) == (0, 0, 120)

        # One aid changed upstream and one removed: exactly those move.
        listed = (await http.get("/api/v1/aids", params={"page_size": 500}, headers=centre)).json()
        changed, removed = listed["items"][0]["id"], listed["items"][1]["id"]
        async with httpx.AsyncClient(base_url=fake_aides_territoires) as fake:
            answer = await fake.post("/_fake/changes", json={"update": [changed], "remove": [removed]})
            answer.raise_for_status()
        third = await sync(http, admin)
        assert (third["updated"], third["expired"], third["unchanged"]) == (1, 1, 118)
        gone = await http.get(f"/api/v1/aids/{removed}", headers=centre)
        assert gone.json()["is_live"] is False
        async with httpx.AsyncClient(base_url=fake_aides_territoires) as fake:
            (await fake.post("/_fake/reset", json={})).raise_for_status()

        # A run that fails halfway (every page from the second on answers 500) leaves the catalogue as it was;
        # the next run completes and applies what changed meanwhile.
        before = await catalogue(http, centre)
        async with httpx.AsyncClient(base_url=fake_aides_territoires) as fake:
            (await fake.post("/_fake/changes", json={"update": [changed], "add": 1})).raise_for_status()
            (await fake.post("/_fake/quirks", json={"fail_from_page": 2})).raise_for_status()
        broken = await sync(http, admin)
        assert broken["outcome"] == "failed", broken
        assert "catalogue is unchanged" in broken["message"]
        assert await catalogue(http, centre) == before
        async with httpx.AsyncClient(base_url=fake_aides_territoires) as fake:
            (await fake.post("/_fake/quirks", json={"fail_from_page": None})).raise_for_status()
        completed = await sync(http, admin)
        assert completed["outcome"] == "succeeded", completed
        # What changed meanwhile: a new aid (on the first page, which the failed run read), and the removed
        # aid listed again (the reset); `changed` is as the third run saw it.
        assert (completed["inserted"], completed["updated"], completed["unchanged"]) == (1, 1, 119), completed
        assert completed["expired"] == 0
        assert (await http.get(f"/api/v1/aids/{removed}", headers=centre)).json()["is_live"] is True

        # Tokens that expire mid-run are renewed (one fresh token, one retry of the refused call).
        async with httpx.AsyncClient(base_url=fake_aides_territoires) as fake:
            (await fake.post("/_fake/quirks", json={"token_uses": 1})).raise_for_status()
        renewed = await sync(http, admin)
        assert renewed["outcome"] == "succeeded", renewed
        assert renewed["counts"]["token_refreshes"] >= 1, renewed
        assert (renewed["inserted"], renewed["updated"], renewed["unchanged"]) == (0, 0, 121), renewed
        async with httpx.AsyncClient(base_url=fake_aides_territoires) as fake:
            (await fake.post("/_fake/reset", json={})).raise_for_status()

        # Searches by lever and territory: every answer serves the lever and is available to the Loiret.
        loiret = await http.get(
            "/api/v1/aids", params={"departement": "45", "page_size": 500}, headers=centre
        )
        mapped = [aid for aid in loiret.json()["items"] if aid["lever_ids"] and aid["is_live"]]
        assert mapped, "the generated catalogue has aids for the Loiret that serve a lever"
        lever = mapped[0]["lever_ids"][0]
        found = await http.get(
            "/api/v1/aids", params={"lever_id": lever, "departement": "45", "page_size": 500}, headers=centre
        )
        assert found.status_code == 200, found.text
        assert found.json()["total"] >= 1
        assert all(lever in aid["lever_ids"] for aid in found.json()["items"])
        everywhere = await http.get(
            "/api/v1/aids", params={"lever_id": lever, "page_size": 500}, headers=centre
        )
        assert {a["id"] for a in found.json()["items"]} <= {a["id"] for a in everywhere.json()["items"]}

        # What may fund an action of the Loiret on that lever: those aids (live), and none to another région.
        created = await http.post(
            "/api/v1/actions",
            json={
                "title": "Plan de financement des haies",
                "territory": {"level": "departement", "code": "45"},
                "lever_id": lever,
            },
            headers=centre,
        )
        assert created.status_code == 201, created.text
        funding = await http.get(
            f"/api/v1/actions/{created.json()['id']}/funding", params={"page_size": 500}, headers=centre
        )
        assert funding.status_code == 200, funding.text
        live_found = {a["id"] for a in found.json()["items"] if a["is_live"]}
        assert {a["id"] for a in funding.json()["items"]} == live_found
        assert "support_measures" in funding.json()
        hidden = await http.get(f"/api/v1/actions/{created.json()['id']}/funding", headers=occitanie)
        assert hidden.status_code == 404
