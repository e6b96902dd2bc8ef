"""Campaigns: a questionnaire sent to the collectivités of a région or a département, the invitees
resolved through the levers service (its real COG data), the questionnaire locked, and who may do what."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest_asyncio
from fastapi import FastAPI

from planeco_shared.testing import assert_problem, identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
BRETAGNE = identity_headers("coordinator", "53")
CONTRIBUTOR = identity_headers("contributor", "244500468")  # Orléans Métropole, in the Centre-Val de Loire
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")

URL = "/api/v1/campaigns"
SMALL = Path(__file__).parent / "data" / "questionnaire-small.json"
EPCI_TYPES = ("metropole", "cu", "ca", "cc")


def small(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SMALL.read_text(encoding="utf-8"))
    return document | changes


async def questionnaire(
    client: httpx.AsyncClient, document: dict[str, Any] | None = None, **owner: str
) -> str:
    created = await client.post(
        "/api/v1/questionnaires/imports", params=owner, json=document or small(), headers=ADMIN
    )
    assert created.status_code == 201, created.text
    identifier: str = created.json()["id"]
    return identifier


@pytest_asyncio.fixture(loop_scope="session")
async def national(client: httpx.AsyncClient) -> str:
    return await questionnaire(client)


def campaign(questionnaire_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "questionnaire_id": questionnaire_id,
        "owner": {"level": "region", "code": "24"},
        "title": "Diagnostic COP Centre-Val de Loire 2026",
        "opening_date": "2026-03-02",
        "closing_date": "2026-04-30",
        "panorama_version": "2024-07-24",
    } | changes


async def levers_total(levers_app: FastAPI, path: str, **params: str) -> int:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=levers_app), base_url="http://levers"
    ) as http:
        answer = await http.get(
            f"/api/v1/territories/{path}", params=params | {"page_size": "1"}, headers=READER
        )
    assert answer.status_code == 200, answer.text
    total: int = answer.json()["total"]
    return total


async def test_centre_val_de_loire_invites_its_region_departements_and_every_epci(
    client: httpx.AsyncClient, national: str, levers_app: FastAPI
) -> None:
    created = await client.post(URL, json=campaign(national), headers=CENTRE)
    assert created.status_code == 201, created.text
    read = created.json()
    assert read["owner"] == {"level": "region", "code": "24"} and read["region"] == "24"
    counts = read["invitee_counts"]
    assert (counts["region"], counts["departement"], sum(counts.get(t, 0) for t in EPCI_TYPES)) == (1, 6, 79)
    assert "commune" not in counts
    assert sum(counts.get(t, 0) for t in EPCI_TYPES) == await levers_total(levers_app, "epcis", region="24")
    invitees = await client.get(f"{URL}/{read['id']}/invitees", params={"page_size": 500}, headers=CENTRE)
    assert invitees.json()["total"] == 86
    by_type = {i["type"] for i in invitees.json()["items"]}
    assert by_type <= {"region", "departement", *EPCI_TYPES}
    [region] = [i for i in invitees.json()["items"] if i["type"] == "region"]
    assert (region["code"], region["name"], region["departement"]) == ("24", "Centre-Val de Loire", None)
    loiret = await client.get(f"{URL}/{read['id']}/invitees", params={"departement": "45"}, headers=CENTRE)
    assert {i["departement"] for i in loiret.json()["items"]} == {"45"}

    # The campaign locked its questionnaire.
    locked = await client.get(f"/api/v1/questionnaires/{national}", headers=ADMIN)
    assert locked.json()["locked_at"] is not None
    put = await client.put(
        f"/api/v1/questionnaires/{national}/document",
        json=small(),
        headers=ADMIN | {"if-match": locked.headers["etag"]},
    )
    assert assert_problem(put, 409)["code"] == "questionnaire-locked"


async def test_some_departements_with_their_communes(
    client: httpx.AsyncClient, national: str, levers_app: FastAPI
) -> None:
    selection = {"region": False, "departement_codes": ["45", "41"], "communes": True, "epci_natures": ["CA"]}
    created = await client.post(URL, json=campaign(national, invitees=selection), headers=CENTRE)
    assert created.status_code == 201, created.text
    counts = created.json()["invitee_counts"]
    communes = await levers_total(levers_app, "communes", departement="45")
    communes += await levers_total(levers_app, "communes", departement="41")
    assert counts["departement"] == 2 and counts["commune"] == communes
    assert set(counts) == {"departement", "ca", "commune"}
    listed = await client.get(
        f"{URL}/{created.json()['id']}/invitees", params={"type": "ca", "page_size": 500}, headers=READER
    )
    assert {i["departement"] for i in listed.json()["items"]} <= {"45", "41"}
    assert created.json()["invitees"] == {
        "region": False,
        "departements": True,
        "epci_natures": ["CA"],
        "communes": True,
        "departement_codes": ["45", "41"],
    }


async def test_a_departement_runs_its_own_campaign(client: httpx.AsyncClient, national: str) -> None:
    body = campaign(
        national,
        owner={"level": "departement", "code": "45"},
        invitees={"region": False},
        panorama_version="latest",
    )
    created = await client.post(URL, json=body, headers=LOIRET)
    assert created.status_code == 201, created.text
    read = created.json()
    assert (read["region"], read["panorama_version"]) == ("24", "2024-07-24")  # latest, as of that day
    assert read["invitee_counts"]["departement"] == 1
    invitees = await client.get(f"{URL}/{read['id']}/invitees", params={"page_size": 500}, headers=LOIRET)
    assert invitees.status_code == 200, invitees.text
    assert {i["departement"] for i in invitees.json()["items"]} == {"45"}


async def test_what_cannot_make_a_campaign_is_a_422_naming_it(
    client: httpx.AsyncClient, national: str
) -> None:
    brittany = await questionnaire(client, owner_level="region", owner_code="53")
    epci_only = await questionnaire(client, small(respondent_types=["epci", "commune"], sections=[
        {"key": "haies", "title": "Haies", "lever_ids": ["augm_haies"],
         "items": [{"key": "planter-haies", "kind": "action", "label": "Planter des haies"}]}
    ]))  # fmt: skip
    empty = (await client.post("/api/v1/questionnaires", json={"title": "Vide"}, headers=ADMIN)).json()["id"]
    cases: list[tuple[dict[str, Any], list[list[str | int]]]] = [
        (campaign(brittany), [["body", "questionnaire_id"]]),
        (campaign(empty), [["body", "questionnaire_id"]]),
        (campaign("00000000-0000-0000-0000-000000000000"), [["body", "questionnaire_id"]]),
        (campaign(epci_only), [["body", "invitees", "region"], ["body", "invitees", "departements"]]),
        (campaign(national, panorama_version="2020-01-01"), [["body", "panorama_version"]]),
        (
            campaign(national, invitees={"departement_codes": ["45", "29"]}),
            [["body", "invitees", "departement_codes", 1]],
        ),
        (
            campaign(national, owner={"level": "departement", "code": "45"}),
            [["body", "invitees", "region"]],
        ),
        (
            campaign(national, invitees={"region": False, "departements": False, "epci_natures": []}),
            [["body", "invitees"]],
        ),
        (campaign(national, closing_date="2026-03-01"), [["body"]]),
        (campaign(national, owner={"level": "departement", "code": "99"}), [["body", "owner", "code"]]),
    ]
    for body, expected in cases:
        refused = await client.post(URL, json=body, headers=ADMIN)
        problem = assert_problem(refused, 422)
        assert [e["loc"] for e in problem["errors"]] == expected, (body, problem)
    assert (await client.get(URL, headers=ADMIN)).json()["total"] == 0
    # A refused campaign locks nothing.
    assert (await client.get(f"/api/v1/questionnaires/{national}", headers=ADMIN)).json()["locked_at"] is None


async def test_permission_matrix(client: httpx.AsyncClient, national: str) -> None:
    callers = {
        "admin": ADMIN,
        "coordinator of the région": CENTRE,
        "coordinator of a département": LOIRET,
        "coordinator elsewhere": BRETAGNE,
        "contributor": CONTRIBUTOR,
        "reader": READER,
        "anonymous": ANONYMOUS,
    }
    regional = {"admin": 201, "coordinator of the région": 201, "anonymous": 401}
    departemental = regional | {"coordinator of a département": 201}
    created: list[str] = []
    for name, headers in callers.items():
        answer = await client.post(
            URL, json=campaign(national, invitees={"epci_natures": ["ME"]}), headers=headers
        )
        assert answer.status_code == regional.get(name, 403), (name, answer.text)
        body = campaign(national, owner={"level": "departement", "code": "45"}, invitees={"region": False})
        answer_45 = await client.post(URL, json=body, headers=headers)
        assert answer_45.status_code == departemental.get(name, 403), (name, answer_45.text)
        created += [a.json()["id"] for a in (answer, answer_45) if a.status_code == 201]
    assert len(created) == 5
    reads = {"coordinator elsewhere": 404, "anonymous": 401}
    for name, headers in callers.items():
        for campaign_id in created:
            one = await client.get(f"{URL}/{campaign_id}", headers=headers)
            invitees = await client.get(f"{URL}/{campaign_id}/invitees", headers=headers)
            want = reads.get(name, 200)
            assert (one.status_code, invitees.status_code) == (want, want), name
        listed = await client.get(URL, headers=headers)
        if name == "anonymous":
            assert listed.status_code == 401
        else:
            assert listed.json()["total"] == (0 if name == "coordinator elsewhere" else 5), name


def _day(days: int) -> str:
    """A French calendar day from today (the campaigns' dates are Europe/Paris days)."""
    return (dt.datetime.now(ZoneInfo("Europe/Paris")).date() + dt.timedelta(days=days)).isoformat()


REGION_ONLY = {"departements": False, "epci_natures": []}


async def test_a_coordinator_extends_closes_and_renames_a_campaign(
    client: httpx.AsyncClient, national: str
) -> None:
    body = campaign(national, opening_date=_day(-1), closing_date=_day(30), invitees=REGION_ONLY)
    created = await client.post(URL, json=body, headers=CENTRE)
    assert created.status_code == 201, created.text
    url, first = f"{URL}/{created.json()['id']}", created.headers["etag"]
    issued = await client.post(f"{url}/invitees/24/token", headers=CENTRE)
    assert issued.status_code == 200, issued.text
    token = {"X-Invitation-Token": issued.json()["token"]}
    assert (await client.get("/api/v1/answer/response", headers=token)).status_code == 200

    assert_problem(await client.patch(url, json={"title": "Diagnostic prolongé"}, headers=CENTRE), 428)
    extended = await client.patch(
        url,
        json={"title": "Diagnostic COP 2026 (prolongé)", "closing_date": _day(60)},
        headers=CENTRE | {"If-Match": first},
    )
    assert extended.status_code == 200, extended.text
    read = extended.json()
    assert (read["title"], read["closing_date"], read["revision"]) == (
        "Diagnostic COP 2026 (prolongé)",
        _day(60),
        created.json()["revision"] + 1,
    )
    assert extended.headers["etag"] != first
    stale = await client.patch(url, json={"title": "Encore"}, headers=CENTRE | {"If-Match": first})
    assert_problem(stale, 412)
    tag = {"If-Match": extended.headers["etag"]}

    # Refused: what would rewrite the past; nothing changes.
    opened = await client.patch(url, json={"opening_date": _day(1)}, headers=CENTRE | tag)
    assert "opened on" in assert_problem(opened, 409)["detail"]
    too_early = await client.patch(url, json={"closing_date": _day(-2)}, headers=CENTRE | tag)
    [error] = assert_problem(too_early, 422)["errors"]
    assert (error["loc"], error["type"]) == (["body", "closing_date"], "in_the_past")
    assert_problem(await client.patch(url, json={}, headers=CENTRE | tag), 422)
    assert_problem(
        await client.patch(url, json={"owner": {"level": "region", "code": "53"}}, headers=CENTRE | tag), 422
    )
    assert (await client.get(url, headers=CENTRE)).headers["etag"] == tag["If-Match"]

    # Closed from today on (yesterday's date): the token stops working; extended again, it works again.
    closed = await client.patch(url, json={"closing_date": _day(-1)}, headers=CENTRE | tag)
    assert closed.status_code == 200, closed.text
    assert (await client.get("/api/v1/answer/response", headers=token)).status_code == 404
    # The whole representation sent back, its dates unchanged: only the title changes.
    whole = {k: closed.json()[k] for k in ("title", "opening_date", "closing_date")} | {"title": "Clos"}
    renamed = await client.patch(url, json=whole, headers=CENTRE | {"If-Match": closed.headers["etag"]})
    assert renamed.status_code == 200, renamed.text
    reopened = await client.patch(
        url, json={"closing_date": _day(7)}, headers=CENTRE | {"If-Match": renamed.headers["etag"]}
    )
    assert reopened.status_code == 200, reopened.text
    assert (await client.get("/api/v1/answer/response", headers=token)).status_code == 200

    # Who may: its région's coordinators and admins; another région's does not see it.
    tag = {"If-Match": reopened.headers["etag"]}
    change = {"title": "Pas à vous"}
    assert_problem(await client.patch(url, json=change, headers=BRETAGNE | tag), 404)
    for caller in (CONTRIBUTOR, READER):
        assert_problem(await client.patch(url, json=change, headers=caller | tag), 403)
    assert_problem(await client.patch(url, json=change, headers=ANONYMOUS | tag), 401)
    assert (await client.patch(url, json=change, headers=ADMIN | tag)).status_code == 200


async def test_a_campaign_not_yet_open_moves_its_dates_in_order(
    client: httpx.AsyncClient, national: str
) -> None:
    body = campaign(national, opening_date=_day(10), closing_date=_day(40), invitees=REGION_ONLY)
    created = await client.post(URL, json=body, headers=CENTRE)
    assert created.status_code == 201, created.text
    url, tag = f"{URL}/{created.json()['id']}", {"If-Match": created.headers["etag"]}
    reversed_ = await client.patch(
        url, json={"opening_date": _day(20), "closing_date": _day(15)}, headers=CENTRE | tag
    )
    [error] = assert_problem(reversed_, 422)["errors"]
    assert (error["loc"], error["type"]) == (["body", "closing_date"], "dates_out_of_order")
    past = await client.patch(url, json={"opening_date": _day(-1)}, headers=CENTRE | tag)
    assert assert_problem(past, 422)["errors"][0]["type"] == "in_the_past"
    sooner = await client.patch(url, json={"opening_date": _day(0)}, headers=CENTRE | tag)
    assert sooner.status_code == 200, sooner.text
    assert (sooner.json()["opening_date"], sooner.json()["closing_date"]) == (_day(0), _day(40))


async def test_a_campaign_closes_on_its_opening_day_or_is_cancelled_before_it_opens(
    client: httpx.AsyncClient, national: str
) -> None:
    for opening in (0, 5):  # opened today; not open yet
        body = campaign(national, opening_date=_day(opening), closing_date=_day(30), invitees=REGION_ONLY)
        created = await client.post(URL, json=body, headers=CENTRE)
        assert created.status_code == 201, created.text
        url = f"{URL}/{created.json()['id']}"
        closed = await client.patch(
            url, json={"closing_date": _day(-1)}, headers=CENTRE | {"If-Match": created.headers["etag"]}
        )
        assert closed.status_code == 200, closed.text
        assert closed.json()["closing_date"] == _day(-1)
        # Once closed, its closing date moves only forward (to open it again), never to another past day.
        again = await client.patch(
            url, json={"closing_date": _day(-1)}, headers=CENTRE | {"If-Match": closed.headers["etag"]}
        )
        assert again.status_code == 200, again.text  # the same date: no change
    long_closed = campaign(national, opening_date=_day(-40), closing_date=_day(-10), invitees=REGION_ONLY)
    created = await client.post(URL, json=long_closed, headers=CENTRE)
    assert created.status_code == 201, created.text
    moved = await client.patch(
        f"{URL}/{created.json()['id']}",
        json={"closing_date": _day(-1)},
        headers=CENTRE | {"If-Match": created.headers["etag"]},
    )
    assert assert_problem(moved, 422)["errors"][0]["type"] == "already_closed"
