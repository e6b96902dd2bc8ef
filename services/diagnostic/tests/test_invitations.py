"""Invitation tokens: issued, rotated and revoked by the coordinators of the campaign's owner, shown once,
stored as a hash, opening only their invitee of an open campaign, with the same 404 for every bad token."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations.models import InvitationToken
from planeco_diagnostic.invitations.router import today
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import assert_problem, identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
BRETAGNE = identity_headers("coordinator", "53")
CONTRIBUTOR = identity_headers("contributor", "244500468")  # Orléans Métropole, in the Centre-Val de Loire
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")
SMALL = Path(__file__).parent / "data" / "questionnaire-small.json"


async def questionnaire(client: httpx.AsyncClient) -> str:
    document = json.loads(SMALL.read_text(encoding="utf-8"))
    created = await client.post("/api/v1/questionnaires/imports", json=document, headers=ADMIN)
    assert created.status_code == 201, created.text
    identifier: str = created.json()["id"]
    return identifier


def campaign(questionnaire_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "questionnaire_id": questionnaire_id,
        "owner": {"level": "region", "code": "24"},
        "title": "Diagnostic COP Centre-Val de Loire 2026",
        "opening_date": "2026-03-02",
        "closing_date": "2026-04-30",
        "panorama_version": "2024-07-24",
    } | changes


ORLEANS = "244500468"  # Orléans Métropole (Loiret)
TOURS = "243700754"  # Tours Métropole Val de Loire (Indre-et-Loire)
TOURAINE = identity_headers("coordinator", "departement:37")


def open_campaign(questionnaire_id: str, **changes: Any) -> dict[str, Any]:
    day = today()
    dates = {
        "opening_date": (day - dt.timedelta(days=7)).isoformat(),
        "closing_date": (day + dt.timedelta(days=30)).isoformat(),
    }
    return campaign(questionnaire_id, **dates) | changes


@pytest_asyncio.fixture(loop_scope="session")
async def centre(client: httpx.AsyncClient) -> str:
    created = await client.post(
        "/api/v1/campaigns", json=open_campaign(await questionnaire(client)), headers=CENTRE
    )
    assert created.status_code == 201, created.text
    identifier: str = created.json()["id"]
    return identifier


def token_url(campaign_id: str, code: str) -> str:
    return f"/api/v1/campaigns/{campaign_id}/invitees/{code}/token"


async def issue(
    client: httpx.AsyncClient, campaign_id: str, code: str, headers: dict[str, str] = CENTRE
) -> str:
    issued = await client.post(token_url(campaign_id, code), headers=headers)
    assert issued.status_code == 200, issued.text
    assert issued.headers["cache-control"] == "no-store"
    token: str = issued.json()["token"]
    return token


def holder(token: str) -> dict[str, str]:
    return ANONYMOUS | {"X-Invitation-Token": token}


async def test_a_token_opens_its_invitee_only_and_only_its_hash_is_kept(
    client: httpx.AsyncClient, centre: str, app: FastAPI
) -> None:
    orleans, tours = await issue(client, centre, ORLEANS), await issue(client, centre, TOURS)
    assert orleans != tours and len(orleans) >= 43  # 256 bits, URL-safe base64
    mine = await client.get("/api/v1/answer", headers=holder(orleans))
    assert mine.status_code == 200, mine.text
    assert mine.json()["code"] == ORLEANS and mine.json()["campaign_id"] == centre
    assert mine.json()["name"] == "Orléans Métropole" and mine.json()["type"] == "metropole"
    assert (await client.get("/api/v1/answer", headers=holder(tours))).json()["code"] == TOURS
    async with runtime_of(app).sessionmaker() as session:
        stored = (await session.execute(select(InvitationToken.token_hash))).scalars().all()
    assert hashlib.sha256(orleans.encode()).hexdigest() in stored
    assert orleans not in stored and tours not in stored


async def test_rotation_and_revocation_give_the_same_404_as_an_unknown_token(
    client: httpx.AsyncClient, centre: str, app: FastAPI
) -> None:
    first = await issue(client, centre, ORLEANS)
    second = await issue(client, centre, ORLEANS)
    assert (await client.get("/api/v1/answer", headers=holder(second))).status_code == 200
    rotated = assert_problem(await client.get("/api/v1/answer", headers=holder(first)), 404)
    unknown = assert_problem(await client.get("/api/v1/answer", headers=holder("x" * 43)), 404)
    missing = assert_problem(await client.get("/api/v1/answer", headers=ANONYMOUS), 404)
    assert (await client.delete(token_url(centre, ORLEANS), headers=CENTRE)).status_code == 204
    revoked = assert_problem(await client.get("/api/v1/answer", headers=holder(second)), 404)
    assert rotated["detail"] == unknown["detail"] == missing["detail"] == revoked["detail"]
    assert_problem(await client.delete(token_url(centre, ORLEANS), headers=CENTRE), 404)
    reissued = await issue(client, centre, ORLEANS)
    assert (await client.get("/api/v1/answer", headers=holder(reissued))).status_code == 200
    async with runtime_of(app).sessionmaker() as session:
        actions = (
            (
                await session.execute(
                    select(AuditEntry.action)
                    .where(AuditEntry.entity_type == "invitation")
                    .order_by(AuditEntry.id)
                )
            )
            .scalars()
            .all()
        )

    assert {"issue", "rotate", "revoke"} <= set(actions)


async def test_a_token_works_only_while_its_campaign_is_open(client: httpx.AsyncClient) -> None:
    national = await questionnaire(client)
    day = today()
    later = open_campaign(
        national,
        opening_date=(day + dt.timedelta(days=2)).isoformat(),
        closing_date=(day + dt.timedelta(days=9)).isoformat(),
    )
    created = await client.post("/api/v1/campaigns", json=later, headers=CENTRE)
    assert created.status_code == 201, created.text
    token = await issue(client, created.json()["id"], ORLEANS)
    assert_problem(await client.get("/api/v1/answer", headers=holder(token)), 404)
    closed = open_campaign(
        national,
        opening_date=(day - dt.timedelta(days=30)).isoformat(),
        closing_date=(day - dt.timedelta(days=1)).isoformat(),
    )
    created = await client.post("/api/v1/campaigns", json=closed, headers=CENTRE)
    assert created.status_code == 201, created.text
    problem = assert_problem(await client.post(token_url(created.json()["id"], ORLEANS), headers=CENTRE), 409)
    assert "closed" in problem["detail"]


async def test_who_may_issue_and_revoke_tokens(client: httpx.AsyncClient, centre: str) -> None:
    url = token_url(centre, ORLEANS)
    assert (await client.post(url, headers=ADMIN)).status_code == 200
    assert (await client.post(url, headers=CENTRE)).status_code == 200
    assert_problem(await client.post(url, headers=BRETAGNE), 404)  # another région's campaign
    for caller in (LOIRET, TOURAINE):  # a département's coordinators do not manage their région's campaign
        assert_problem(await client.post(url, headers=caller), 403)
    for caller in (CONTRIBUTOR, READER):
        assert_problem(await client.post(url, headers=caller), 403)
    assert_problem(await client.post(url, headers=ANONYMOUS), 401)
    assert_problem(await client.delete(url, headers=BRETAGNE), 404)
    assert_problem(await client.delete(url, headers=CONTRIBUTOR), 403)
    assert_problem(await client.post(token_url(centre, "200000172"), headers=CENTRE), 404)  # not invited
    token = await issue(client, centre, ORLEANS)
    # a token is no credential for the managed endpoints
    assert_problem(await client.post(url, headers=holder(token)), 401)


async def test_a_departement_coordinator_manages_its_own_campaign(client: httpx.AsyncClient) -> None:
    national = await questionnaire(client)
    body = open_campaign(national, owner={"level": "departement", "code": "45"})
    body["invitees"] = {"region": False, "departements": True, "epci_natures": ["ME", "CA", "CC"]}
    created = await client.post("/api/v1/campaigns", json=body, headers=LOIRET)
    assert created.status_code == 201, created.text
    url = token_url(created.json()["id"], ORLEANS)
    assert (await client.post(url, headers=LOIRET)).status_code == 200
    assert (await client.post(url, headers=CENTRE)).status_code == 200
    assert_problem(await client.post(url, headers=TOURAINE), 403)
