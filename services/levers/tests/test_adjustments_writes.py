"""Regional adjustments: who may write, ETag / If-Match / If-None-Match, idempotence, withdrawal, history."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from planeco_shared.testing import identity_headers

PANORAMA = "/api/v1/panoramas/2024-07-24/regions/44"
ITEM = PANORAMA + "/adjustments/augm_voitelec"
HISTORY = ITEM + "/history"
COORDINATOR = identity_headers("coordinator", "44")
ADMIN = identity_headers("admin", subject="test:admin:sgpe")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
BODY: dict[str, Any] = {"objective_physical": "500", "comment": "SRADDET"}


async def create(client: httpx.AsyncClient, body: dict[str, Any] | None = None) -> str:
    response = await client.put(ITEM, json=body or BODY, headers=COORDINATOR)
    assert response.status_code == 201, response.text
    return response.headers["etag"]


async def history(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(HISTORY, headers=READER)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (identity_headers("coordinator", "24"), 403),  # another région's coordinator
        (READER, 403),
        (identity_headers("contributor", "200067213"), 403),
        (ANONYMOUS, 401),
    ],
)
async def test_only_the_regions_coordinators_and_admins_write(
    client: httpx.AsyncClient, headers: dict[str, str], status: int
) -> None:
    assert (await client.put(ITEM, json=BODY, headers=headers)).status_code == status
    etag = await create(client)
    assert (await client.delete(ITEM, headers=headers | {"if-match": etag})).status_code == status
    assert (await client.get(ITEM, headers=identity_headers("anonymous"))).json()["etag"] == etag  # unchanged


async def test_reads_are_public_and_the_history_is_not(client: httpx.AsyncClient) -> None:
    await create(client)
    listed = await client.get(PANORAMA + "/adjustments", headers=ANONYMOUS)
    assert listed.status_code == 200
    assert [item["lever_id"] for item in listed.json()["items"]] == ["augm_voitelec"]
    assert "cache-control" not in listed.headers  # coordinators read ETags back: never cached
    item = await client.get(ITEM, headers=ANONYMOUS)
    assert item.status_code == 200
    assert "updated_by" not in item.json()  # who changed it: in the authenticated history only
    assert "updated_by" not in listed.json()["items"][0]
    assert (await client.get(HISTORY, headers=ANONYMOUS)).status_code == 401
    assert (await client.get(HISTORY, headers=READER)).status_code == 200


async def test_replacing_needs_the_current_etag(client: httpx.AsyncClient) -> None:
    etag = await create(client)
    changed = {"objective_physical": "600", "comment": "Plus ambitieux"}
    missing = await client.put(ITEM, json=changed, headers=COORDINATOR)
    assert (missing.status_code, missing.json()["code"]) == (428, "precondition-required")
    forbid_overwrite = await client.put(ITEM, json=changed, headers=COORDINATOR | {"if-none-match": "*"})
    assert forbid_overwrite.status_code == 412
    updated = await client.put(ITEM, json=changed, headers=ADMIN | {"if-match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.headers["etag"] == '"44-augm_voitelec-v2"' != etag
    assert (await history(client))["items"][0]["actor"] == "test:admin:sgpe"
    stale = await client.put(ITEM, json=BODY, headers=COORDINATOR | {"if-match": etag})
    assert (stale.status_code, stale.json()["code"]) == (412, "precondition-failed")
    assert (await client.get(ITEM, headers=ANONYMOUS)).json()["physical_2030"] == "600"


async def test_creating_accepts_if_none_match_and_refuses_if_match(client: httpx.AsyncClient) -> None:
    assert (await client.put(ITEM, json=BODY, headers=COORDINATOR | {"if-match": '"x"'})).status_code == 412
    created = await client.put(ITEM, json=BODY, headers=COORDINATOR | {"if-none-match": "*"})
    assert created.status_code == 201, created.text
    again = await client.put(ITEM, json=BODY, headers=COORDINATOR | {"if-none-match": "*"})
    assert again.status_code == 412


async def test_the_same_put_twice_changes_nothing(client: httpx.AsyncClient) -> None:
    body = {"objective_physical": "500.000", "comment": "SRADDET", "done_ktco2e": "10"}
    etag = await create(client, body)
    for headers in (COORDINATOR | {"if-match": etag}, COORDINATOR):  # a retry without If-Match is safe too
        same = await client.put(ITEM, json=body | {"objective_physical": 500}, headers=headers)
        assert (same.status_code, same.headers["etag"]) == (200, etag), same.text
    assert (await history(client))["total"] == 1
    # Omitting done_ktco2e in a PUT is a change: not stated any more.
    cleared = await client.put(ITEM, json=BODY, headers=COORDINATOR | {"if-match": etag})
    assert (cleared.status_code, cleared.json()["done_ktco2e"]) == (200, None)
    entries = (await history(client))["items"]
    assert [(c["field"], c["old"], c["new"]) for c in entries[0]["changes"]] == [("done_ktco2e", "10", None)]


async def test_delete_returns_to_the_official_value(client: httpx.AsyncClient) -> None:
    official = (await client.get(PANORAMA, headers=ANONYMOUS)).json()
    etag = await create(client)
    assert (await client.delete(ITEM, headers=COORDINATOR)).status_code == 428
    assert (
        await client.delete(ITEM, headers=COORDINATOR | {"if-match": '"44-augm_voitelec-v9"'})
    ).status_code == 412
    deleted = await client.delete(ITEM, headers=COORDINATOR | {"if-match": etag})
    assert deleted.status_code == 204
    assert (await client.get(ITEM, headers=ANONYMOUS)).status_code == 404
    assert (await client.delete(ITEM, headers=COORDINATOR | {"if-match": etag})).status_code == 404
    after = (await client.get(PANORAMA, headers=ANONYMOUS)).json()
    assert after["adjusted_total_ktco2e"] == after["total_ktco2e"] == official["total_ktco2e"]
    assert all(lever["adjusted"] is None for lever in after["levers"])
    assert (await client.get(PANORAMA + "/adjustments", headers=ANONYMOUS)).json()["total"] == 0
    # Created again: no precondition, and the ETag never repeats one seen before the delete.
    recreated = await client.put(ITEM, json=BODY, headers=COORDINATOR)
    assert recreated.status_code == 201
    assert recreated.headers["etag"] == '"44-augm_voitelec-v3"'
    actions = [entry["action"] for entry in (await history(client))["items"]]
    assert actions == ["create", "delete", "create"]  # newest first


async def test_history_shows_who_when_and_every_field_old_to_new(client: httpx.AsyncClient) -> None:
    etag = await create(client)
    changed = {"objective_physical": "600", "comment": "Plus ambitieux", "planned_ktco2e": "200"}
    updated = await client.put(ITEM, json=changed, headers=ADMIN | {"if-match": etag})
    assert updated.status_code == 200
    page = await history(client)
    assert page["total"] == 2
    update, creation = page["items"]
    assert (update["actor"], update["actor_role"], update["action"]) == ("test:admin:sgpe", "admin", "update")
    assert (creation["actor"], creation["actor_role"], creation["action"]) == (
        "test:coordinator:44",
        "coordinator",
        "create",
    )
    assert update["occurred_at"] >= creation["occurred_at"]
    # In the order the endpoint's description lists the fields, values as the API writes them.
    assert [(c["field"], c["old"], c["new"]) for c in update["changes"]] == [
        ("objective_ktco2e", "1052.3391062647", "1266.15137908916"),
        ("objective_physical", "500", "600"),
        ("comment", "SRADDET", "Plus ambitieux"),
        ("planned_ktco2e", None, "200"),
    ]
    created = {c["field"]: (c["old"], c["new"]) for c in creation["changes"]}
    assert created["anchored_version"] == (None, "2024-07-24")
    assert created["entered_unit"] == (None, "physical")
    assert created["ratio"] == (None, "0.4677")
    assert "done_ktco2e" not in created  # not stated before, not stated now
    paged = (await client.get(HISTORY, params={"page_size": 1, "page": 2}, headers=READER)).json()
    assert (paged["total"], paged["items"][0]["action"]) == (2, "create")


async def test_history_of_an_unknown_lever_is_404(client: httpx.AsyncClient) -> None:
    assert (
        await client.get(PANORAMA + "/adjustments/no_such_lever/history", headers=READER)
    ).status_code == 404
    empty = await client.get(HISTORY, headers=READER)
    assert (empty.status_code, empty.json()["total"]) == (200, 0)


async def test_another_regions_coordinator_gets_403_before_any_precondition(
    client: httpx.AsyncClient,
) -> None:
    etag = await create(client)
    centre = identity_headers("coordinator", "24")
    for extra in ({}, {"if-match": '"stale"'}):
        assert (await client.put(ITEM, json=BODY, headers=centre | extra)).status_code == 403
        assert (await client.delete(ITEM, headers=centre | extra)).status_code == 403
    stale = await client.delete(ITEM, headers=COORDINATOR | {"if-match": '"stale"'})
    assert (stale.status_code, stale.headers["etag"]) == (412, etag)
    weak = await client.delete(ITEM, headers=COORDINATOR | {"if-match": "W/" + etag})
    assert weak.status_code == 412


async def test_an_adjustment_changes_the_cached_reads_it_shows_in(client: httpx.AsyncClient) -> None:
    """The panorama and its declination are answered from the read cache (planeco_shared.caching): the
    write bumps the data version, so the ETag read before it never gets a 304 and the new figures come."""
    declination = PANORAMA + "/departements?basis=adjusted"
    before = {url: await client.get(url, headers=ANONYMOUS) for url in (PANORAMA, declination)}
    for url, response in before.items():
        again = await client.get(url, headers=ANONYMOUS | {"if-none-match": response.headers["etag"]})
        assert again.status_code == 304  # cached and current
    await create(client)
    for url, response in before.items():
        stale = await client.get(url, headers=ANONYMOUS | {"if-none-match": response.headers["etag"]})
        assert stale.status_code == 200, url
        assert stale.headers["etag"] != response.headers["etag"]
        assert stale.json() != response.json()  # the adjusted objective shows
    lever = next(
        item
        for item in (await client.get(PANORAMA, headers=ANONYMOUS)).json()["levers"]
        if item["lever_id"] == "augm_voitelec"
    )
    assert lever["adjusted"] is not None
