"""Responses: drafts saved in parts (If-Match), validated against the campaign's questionnaire, submitted,
reopened; by invitation token and by the collectivité's contributor; who may do what."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from planeco_diagnostic.campaigns.models import Invitee, InviteeType
from planeco_diagnostic.invitations.router import today
from planeco_diagnostic.questionnaires.document import parse_document
from planeco_diagnostic.responses.service import validate_answers
from planeco_shared.problems import UnprocessableEntity
from planeco_shared.testing import assert_problem, identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
BRETAGNE = identity_headers("coordinator", "53")
ORLEANS = "244500468"  # Orléans Métropole (Loiret)
TOURS = "243700754"  # Tours Métropole Val de Loire
CONTRIBUTOR = identity_headers("contributor", ORLEANS)
OTHER_CONTRIBUTOR = identity_headers("contributor", TOURS)
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
SMALL = Path(__file__).parent / "data" / "questionnaire-small.json"


@pytest_asyncio.fixture(loop_scope="session")
async def centre(client: httpx.AsyncClient) -> str:
    document = json.loads(SMALL.read_text(encoding="utf-8"))
    created = await client.post("/api/v1/questionnaires/imports", json=document, headers=ADMIN)
    assert created.status_code == 201, created.text
    day = today()
    body = {
        "questionnaire_id": created.json()["id"],
        "owner": {"level": "region", "code": "24"},
        "title": "Diagnostic COP Centre-Val de Loire",
        "opening_date": (day - dt.timedelta(days=7)).isoformat(),
        "closing_date": (day + dt.timedelta(days=30)).isoformat(),
        "panorama_version": "2024-07-24",
    }
    created = await client.post("/api/v1/campaigns", json=body, headers=CENTRE)
    assert created.status_code == 201, created.text
    identifier: str = created.json()["id"]
    return identifier


async def token_for(client: httpx.AsyncClient, campaign_id: str, code: str = ORLEANS) -> dict[str, str]:
    issued = await client.post(f"/api/v1/campaigns/{campaign_id}/invitees/{code}/token", headers=CENTRE)
    assert issued.status_code == 200, issued.text
    return ANONYMOUS | {"X-Invitation-Token": issued.json()["token"]}


def url(campaign_id: str, code: str = ORLEANS) -> str:
    return f"/api/v1/campaigns/{campaign_id}/responses/{code}"


async def save(
    client: httpx.AsyncClient, target: str, headers: dict[str, str], answers: dict[str, Any]
) -> httpx.Response:
    current = await client.get(target, headers=headers)
    assert current.status_code == 200, current.text
    return await client.patch(
        target, json={"answers": answers}, headers=headers | {"If-Match": current.headers["etag"]}
    )


async def test_a_token_holder_saves_in_parts_submits_and_a_coordinator_reopens(
    client: httpx.AsyncClient, centre: str
) -> None:
    holder = await token_for(client, centre)
    mine = "/api/v1/answer/response"
    fresh = await client.get(mine, headers=holder)
    assert (
        fresh.status_code == 200 and fresh.json()["status"] == "not_started" and fresh.json()["revision"] == 0
    )
    first = await client.patch(
        mine,
        json={
            "answers": {
                "flotte-electrique": {
                    "pertinence": "pertinent",
                    "mobilisation": "en_cours",
                    "needs": ["financement", "ingenierie", "financement"],
                    "quantity": "12.50",
                }
            }
        },
        headers=holder | {"If-Match": fresh.headers["etag"]},
    )
    assert first.status_code == 200, first.text
    answer = first.json()["answers"]["flotte-electrique"]
    assert answer["quantity"] == "12.5" and answer["lever_quantity"] == "0.0125"  # × 0.001, exact
    assert answer["needs"] == ["ingenierie", "financement"] and answer["lever_id"] == "augm_voitelec"
    assert first.json()["status"] == "draft"
    # a stale ETag is refused, nothing saved
    stale = await client.patch(
        mine, json={"answers": {"q-freins": "Le coût"}}, headers=holder | {"If-Match": fresh.headers["etag"]}
    )
    assert_problem(stale, 412)
    assert_problem(await client.patch(mine, json={"answers": {"q-freins": "x"}}, headers=holder), 428)
    second = await client.patch(
        mine,
        json={"answers": {"q-freins": "Le coût", "q-budget": "15000.00", "q-acteurs": ["anah", "ademe"]}},
        headers=holder | {"If-Match": first.headers["etag"]},
    )
    assert second.status_code == 200, second.text
    answers = second.json()["answers"]
    assert set(answers) == {"flotte-electrique", "q-freins", "q-budget", "q-acteurs"}
    assert answers["q-budget"] == "15000" and answers["q-acteurs"] == ["ademe", "anah"]
    exact = await client.patch(
        mine,
        json={"answers": {"flotte-electrique": {"quantity": "123456789012345.123456789012345"}}},
        headers=holder | {"If-Match": second.headers["etag"]},
    )
    assert exact.status_code == 200, exact.text
    exact_answer = exact.json()["answers"]["flotte-electrique"]
    assert exact_answer["quantity"] == "123456789012345.123456789012345"
    assert exact_answer["lever_quantity"] == "123456789012.345123456789012345"
    second = exact
    cleared = await client.patch(
        mine, json={"answers": {"q-freins": None}}, headers=holder | {"If-Match": second.headers["etag"]}
    )
    assert "q-freins" not in cleared.json()["answers"]
    # the coordinator reads it
    read = await client.get(url(centre), headers=CENTRE)
    assert read.status_code == 200 and read.json()["answers"] == cleared.json()["answers"]
    submitted = await client.post(f"{mine}/submission", headers=holder)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    again = await client.post(f"{mine}/submission", headers=holder)
    assert again.status_code == 200 and again.json()["revision"] == submitted.json()["revision"]
    locked = await client.patch(mine, json={"answers": {"q-freins": "x"}}, headers=holder | {"If-Match": "*"})
    assert_problem(locked, 409)
    assert_problem(await client.post(f"{url(centre)}/reopening", headers=CONTRIBUTOR), 403)
    assert_problem(await client.post(f"{url(centre)}/reopening", headers=BRETAGNE), 404)
    reopened = await client.post(f"{url(centre)}/reopening", headers=CENTRE)
    assert reopened.status_code == 200 and reopened.json()["status"] == "draft"
    assert_problem(await client.post(f"{url(centre)}/reopening", headers=CENTRE), 409)
    assert (await save(client, mine, holder, {"q-freins": "Le foncier"})).status_code == 200
    history = await client.get(f"{url(centre)}/history", headers=CENTRE)
    assert history.status_code == 200, history.text
    entries = history.json()["items"]
    assert [e["action"] for e in entries] == [
        "update",
        "reopen",
        "submit",
        "update",
        "update",
        "update",
        "create",
    ]
    assert entries[1]["actor_role"] == "coordinator"
    assert entries[0]["actor"].startswith("invitation:")
    assert entries[0]["changes"] == [{"field": "q-freins", "old": None, "new": "Le foncier"}]
    assert entries[2]["changes"] == [{"field": "status", "old": "draft", "new": "submitted"}]
    assert_problem(await client.get(f"{url(centre)}/history", headers=OTHER_CONTRIBUTOR), 403)


async def test_every_invalid_answer_is_listed_with_its_item_key_and_nothing_is_saved(
    client: httpx.AsyncClient, centre: str
) -> None:
    holder = await token_for(client, centre)
    mine = "/api/v1/answer/response"
    answers = {
        "inconnu": "x",
        "q-mode": "oui",  # for régions and départements only: Orléans Métropole is an EPCI
        "flotte-electrique": {
            "pertinence": "tres",
            "mobilisation": "fini",
            "needs": ["argent"],
            "quantity": "-1",
        },
        "bus-decarbones": {"pertinence": "pertinent", "quantity": "3"},  # asks no quantity
        "q-budget": "-5",
        "q-acteurs": ["ademe", "cnr"],
        "q-freins": 12,
    }
    rejected = await client.patch(mine, json={"answers": answers}, headers=holder | {"If-Match": "*"})
    problem = assert_problem(rejected, 422)
    found = {tuple(e["loc"]): e["type"] for e in problem["errors"]}
    assert found[("body", "answers", "inconnu")] == "unknown_item"
    assert found[("body", "answers", "q-mode")] == "not_for_respondent"
    assert found[("body", "answers", "flotte-electrique", "pertinence")] == "enum"
    assert found[("body", "answers", "flotte-electrique", "mobilisation")] == "enum"
    assert found[("body", "answers", "flotte-electrique", "needs", 0)] == "enum"
    assert found[("body", "answers", "bus-decarbones", "quantity")] == "no_quantity"
    assert found[("body", "answers", "q-budget")] == "greater_than_equal"
    assert found[("body", "answers", "q-acteurs", 1)] == "unknown_option"
    assert ("body", "answers", "q-freins") in found
    assert (await client.get(mine, headers=holder)).json()["status"] == "not_started"
    negative = await client.patch(
        mine, json={"answers": {"flotte-electrique": {"quantity": "-1"}}}, headers=holder | {"If-Match": "*"}
    )
    assert assert_problem(negative, 422)["errors"][0]["loc"] == [
        "body",
        "answers",
        "flotte-electrique",
        "quantity",
    ]
    long_text = {"q-freins": "a" * 2001}
    too_long = await client.patch(mine, json={"answers": long_text}, headers=holder | {"If-Match": "*"})
    assert assert_problem(too_long, 422)["errors"][0]["type"] == "string_too_long"
    bad_choice = await client.patch(
        mine, json={"answers": {"q-acteurs": "ademe"}}, headers=holder | {"If-Match": "*"}
    )
    assert_problem(bad_choice, 422)


async def test_a_region_answers_its_own_questions(client: httpx.AsyncClient, centre: str) -> None:
    holder = await token_for(client, centre, "24")
    saved = await client.patch(
        "/api/v1/answer/response", json={"answers": {"q-mode": "non"}}, headers=holder | {"If-Match": "*"}
    )
    assert saved.status_code == 200 and saved.json()["answers"] == {"q-mode": "non"}
    refused = await client.patch(
        "/api/v1/answer/response",
        json={"answers": {"flotte-electrique": {"pertinence": "pertinent"}}},
        headers=holder | {"If-Match": "*"},
    )
    assert assert_problem(refused, 422)["errors"][0]["type"] == "not_for_respondent"


async def test_who_may_read_and_write_a_response(client: httpx.AsyncClient, centre: str) -> None:
    answers = {"bus-decarbones": {"pertinence": "a_discuter", "mobilisation": "envisage"}}
    # writes: the collectivité's contributor and admins
    assert (await save(client, url(centre), CONTRIBUTOR, answers)).status_code == 200
    assert (await save(client, url(centre), ADMIN, answers | {"q-freins": "x"})).status_code == 200
    for caller, status in ((CENTRE, 403), (LOIRET, 403), (OTHER_CONTRIBUTOR, 403), (READER, 403)):
        attempt = await client.patch(
            url(centre), json={"answers": answers}, headers=caller | {"If-Match": "*"}
        )
        assert_problem(attempt, status)
    other_region = await client.patch(
        url(centre), json={"answers": answers}, headers=BRETAGNE | {"If-Match": "*"}
    )
    assert_problem(other_region, 404)
    assert_problem(await client.patch(url(centre), json={"answers": answers}, headers=ANONYMOUS), 401)
    # reads: the owner's coordinators, the collectivité's contributor, admins
    for caller in (ADMIN, CENTRE, CONTRIBUTOR):
        assert (await client.get(url(centre), headers=caller)).status_code == 200
    for caller in (LOIRET, OTHER_CONTRIBUTOR, READER):
        assert_problem(await client.get(url(centre), headers=caller), 403)
    assert_problem(await client.get(url(centre), headers=BRETAGNE), 404)
    assert_problem(await client.get(url(centre), headers=ANONYMOUS), 401)
    # a token answers only for its own invitee, and is no credential elsewhere
    tours = await token_for(client, centre, TOURS)
    assert (await client.get("/api/v1/answer/response", headers=tours)).json()["code"] == TOURS
    assert_problem(await client.get(url(centre), headers=tours), 401)
    submitted = await client.post(f"{url(centre)}/submission", headers=CONTRIBUTOR)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert_problem(await client.post(f"{url(centre)}/submission", headers=OTHER_CONTRIBUTOR), 403)
    assert_problem(await client.get(url(centre, "200000172"), headers=CENTRE), 404)  # not invited


async def test_no_write_outside_the_campaign_dates(client: httpx.AsyncClient, centre: str) -> None:
    campaign = await client.get(f"/api/v1/campaigns/{centre}", headers=CENTRE)
    document = json.loads(SMALL.read_text(encoding="utf-8"))
    created = await client.post("/api/v1/questionnaires/imports", json=document, headers=ADMIN)
    day = today()
    body = {
        "questionnaire_id": created.json()["id"],
        "owner": {"level": "region", "code": "24"},
        "title": "Diagnostic clos",
        "opening_date": (day - dt.timedelta(days=30)).isoformat(),
        "closing_date": (day - dt.timedelta(days=1)).isoformat(),
        "panorama_version": campaign.json()["panorama_version"],
    }
    closed = await client.post("/api/v1/campaigns", json=body, headers=CENTRE)
    assert closed.status_code == 201, closed.text
    attempt = await client.patch(
        url(closed.json()["id"]), json={"answers": {"q-freins": "x"}}, headers=CONTRIBUTOR | {"If-Match": "*"}
    )
    assert "read only" in assert_problem(attempt, 409)["detail"]
    assert (await client.get(url(closed.json()["id"]), headers=CONTRIBUTOR)).status_code == 200


async def test_stats_of_the_centre_val_de_loire_campaign_are_live_and_add_up(
    client: httpx.AsyncClient, centre: str
) -> None:
    stats_url = f"/api/v1/campaigns/{centre}/stats"
    invitees = await client.get(
        f"/api/v1/campaigns/{centre}/invitees", params={"page_size": "500"}, headers=CENTRE
    )
    listed = invitees.json()["items"]
    assert invitees.json()["total"] == len(listed) == 1 + 6 + 79  # the région, its départements, its EPCI
    empty = await client.get(stats_url, headers=CENTRE)
    assert empty.status_code == 200, empty.text
    assert empty.json()["overall"] == {
        "invited": 86, "started": 0, "submitted": 0, "started_rate": "0.0000", "submitted_rate": "0.0000"
    }  # fmt: skip
    # Orléans Métropole submits (its contributor), Tours Métropole drafts (token), the région submits
    # (token), the Loiret drafts (an admin)
    answer = {"bus-decarbones": {"pertinence": "pertinent", "mobilisation": "realise"}}
    assert (await save(client, url(centre), CONTRIBUTOR, answer)).status_code == 200
    assert (await client.post(f"{url(centre)}/submission", headers=CONTRIBUTOR)).status_code == 200
    tours = await token_for(client, centre, TOURS)
    assert (await save(client, "/api/v1/answer/response", tours, answer)).status_code == 200
    region = await token_for(client, centre, "24")
    assert (await save(client, "/api/v1/answer/response", region, {"q-mode": "oui"})).status_code == 200
    assert (await client.post("/api/v1/answer/response/submission", headers=region)).status_code == 200
    assert (await save(client, url(centre, "45"), ADMIN, {"q-mode": "non"})).status_code == 200

    stats = (await client.get(stats_url, headers=CENTRE)).json()
    assert stats["overall"] == {
        "invited": 86,
        "started": 4,
        "submitted": 2,
        "started_rate": "0.0465",
        "submitted_rate": "0.0233",
    }  # fmt: skip  4/86 = 0.046511…, 2/86 = 0.023255…
    by_type = {row["type"]: row for row in stats["by_type"]}
    expected_types = {}
    for invitee in listed:
        expected_types[invitee["type"]] = expected_types.get(invitee["type"], 0) + 1
    assert {t: row["invited"] for t, row in by_type.items()} == expected_types
    assert by_type["metropole"]["started"] == 2 and by_type["metropole"]["submitted"] == 1
    assert by_type["metropole"]["submitted_rate"] == "0.5000" and by_type["metropole"]["invited"] == 2
    assert by_type["region"] == {
        "type": "region", "invited": 1, "started": 1, "submitted": 1, "started_rate": "1.0000",
        "submitted_rate": "1.0000",
    }  # fmt: skip
    assert by_type["departement"]["started"] == 1 and by_type["departement"]["submitted"] == 0
    by_departement = {row["departement"]: row for row in stats["by_departement"]}
    assert list(by_departement) == ["18", "28", "36", "37", "41", "45", None]
    loiret = by_departement["45"]
    assert loiret["invited"] == sum(1 for i in listed if i["departement"] == "45")
    assert loiret["started"] == 2 and loiret["submitted"] == 1  # the Loiret and Orléans Métropole
    assert by_departement["37"]["started"] == 1 and by_departement["37"]["submitted"] == 0
    for breakdown in ("by_type", "by_departement"):
        for field in ("invited", "started", "submitted"):
            assert sum(row[field] for row in stats[breakdown]) == stats["overall"][field]
    # who may read them
    assert (await client.get(stats_url, headers=ADMIN)).status_code == 200
    for caller in (LOIRET, CONTRIBUTOR, READER):
        assert_problem(await client.get(stats_url, headers=caller), 403)
    assert_problem(await client.get(stats_url, headers=BRETAGNE), 404)
    assert_problem(await client.get(stats_url, headers=ANONYMOUS), 401)
    assert_problem(await client.get(stats_url, headers=tours), 401)


async def test_no_reopening_after_the_closing_date_the_response_stays_submitted_and_counted(
    client: httpx.AsyncClient, app: FastAPI, centre: str
) -> None:
    answer = {"bus-decarbones": {"pertinence": "pertinent", "mobilisation": "realise"}}
    assert (await save(client, url(centre), CONTRIBUTOR, answer)).status_code == 200
    submitted = await client.post(f"{url(centre)}/submission", headers=CONTRIBUTOR)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    closing = dt.date.fromisoformat(
        (await client.get(f"/api/v1/campaigns/{centre}", headers=CENTRE)).json()["closing_date"]
    )
    synthesis_url = f"/api/v1/campaigns/{centre}/synthesis"
    try:
        app.dependency_overrides[today] = lambda: closing + dt.timedelta(days=1)
        for caller in (CENTRE, ADMIN):
            refused = assert_problem(await client.post(f"{url(centre)}/reopening", headers=caller), 409)
            assert refused["detail"] == (
                f"The campaign closed on {closing.isoformat()}: its responses are read only and a submitted "
                "response can no longer be reopened (it could not be submitted again)"
            )
        assert_problem(await client.post(f"{url(centre)}/reopening", headers=CONTRIBUTOR), 403)  # still
        read = await client.get(url(centre), headers=CENTRE)
        assert (
            read.json()["status"] == "submitted" and read.json()["revision"] == submitted.json()["revision"]
        )
        assert read.json()["submitted_at"] == submitted.json()["submitted_at"]
        stats = (await client.get(f"/api/v1/campaigns/{centre}/stats", headers=CENTRE)).json()
        assert stats["overall"]["submitted"] == 1
        synthesis = (await client.get(synthesis_url, headers=CENTRE)).json()
        assert synthesis["respondents"] == 1
        assert {i["item_key"]: i["overall"]["n"] for i in synthesis["items"]}["bus-decarbones"] == 1
        history = (await client.get(f"{url(centre)}/history", headers=CENTRE)).json()["items"]
        assert [e["action"] for e in history] == ["submit", "create"]  # nothing recorded
        # the closing date itself is still open: a coordinator may reopen then
        app.dependency_overrides[today] = lambda: closing
        reopened = await client.post(f"{url(centre)}/reopening", headers=CENTRE)
        assert reopened.status_code == 200 and reopened.json()["status"] == "draft"
        assert (await client.get(synthesis_url, headers=CENTRE)).json()["respondents"] == 0
    finally:
        app.dependency_overrides.pop(today, None)


async def test_a_quantity_in_another_unit_is_refused_and_the_item_unit_is_kept(
    client: httpx.AsyncClient, centre: str
) -> None:
    holder = await token_for(client, centre)
    mine = "/api/v1/answer/response"
    fleet = {"pertinence": "pertinent", "mobilisation": "en_cours", "quantity": "12"}
    wrong = await client.patch(
        mine,
        json={"answers": {"flotte-electrique": fleet | {"unit": "milliers de véhicules"}}},
        headers=holder | {"If-Match": "*"},
    )
    [error] = assert_problem(wrong, 422)["errors"]
    assert (error["loc"], error["type"]) == (["body", "answers", "flotte-electrique", "unit"], "wrong_unit")
    assert "'véhicules'" in error["msg"]
    no_quantity = await client.patch(
        mine,
        json={"answers": {"bus-decarbones": {"pertinence": "pertinent", "unit": "bus"}}},
        headers=holder | {"If-Match": "*"},
    )
    assert assert_problem(no_quantity, 422)["errors"][0]["type"] == "no_quantity"
    assert (await client.get(mine, headers=holder)).json()["status"] == "not_started"
    said = await client.patch(
        mine,
        # the accent typed as e + combining acute, a space after: the same unit
        json={"answers": {"flotte-electrique": fleet | {"unit": "ve\u0301hicules "}}},
        headers=holder | {"If-Match": "*"},
    )
    assert said.status_code == 200, said.text
    stored = said.json()["answers"]["flotte-electrique"]
    assert (stored["quantity"], stored["unit"], stored["lever_quantity"]) == ("12", "véhicules", "0.012")


def test_a_quantity_above_the_items_maximum_is_refused() -> None:
    """`maximum` (optional, in the item's unit) bounds an answer's quantity; at the maximum is accepted."""
    document = json.loads(SMALL.read_text(encoding="utf-8"))
    document["sections"][0]["items"][0]["quantity"]["maximum"] = "500"
    parsed = parse_document(json.dumps(document).encode())
    epci = Invitee(code="244500468", name="Orléans Métropole", type=InviteeType.metropole, departement="45")
    with pytest.raises(UnprocessableEntity) as refused:
        validate_answers(parsed, epci, {"flotte-electrique": {"quantity": "500.5"}})
    [error] = refused.value.errors
    assert (error.loc, error.type) == (
        ["body", "answers", "flotte-electrique", "quantity"],
        "less_than_equal",
    )
    assert error.msg == "The quantity must be ≤ 500 véhicules"
    kept = validate_answers(parsed, epci, {"flotte-electrique": {"quantity": "500"}})
    assert kept["flotte-electrique"]["lever_quantity"] == "0.5"
