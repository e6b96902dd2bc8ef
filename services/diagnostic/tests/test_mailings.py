"""E-mailed invitations and reminders (seen on a real SMTP server on loopback), the mail-merge tokens, the
non-respondents and their export; who may do what."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import httpx
import openpyxl
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from planeco.mailserver import MailServer, running_mail_server
from planeco_diagnostic.app import create_app
from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations.models import InvitationToken
from planeco_diagnostic.invitations.router import today
from planeco_diagnostic.invitations.service import hash_token, new_token
from planeco_diagnostic.jobs import JOBS
from planeco_diagnostic.outbox.models import OutboxMessage
from planeco_diagnostic.outbox.service import WITHDRAWN
from planeco_shared.jobs import JobOutcome, JobTrigger, run_job
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import assert_problem, isolated, unused_port

from .conftest import DATA, LEVERS_URL, diagnostic_settings
from .test_responses import (  # noqa: F401 (centre: the campaign fixture)
    ADMIN,
    ANONYMOUS,
    BRETAGNE,
    CENTRE,
    CONTRIBUTOR,
    ORLEANS,
    READER,
    SMALL,
    TOURS,
    centre,
)
from .test_responses import LOIRET as LOIRET_COORDINATOR

ANSWER_URL = "https://cop.example.fr/repondre"
LINK = re.compile(re.escape(ANSWER_URL) + r"#jeton=([A-Za-z0-9_-]{43})")


@pytest.fixture(scope="module")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    """`python -m planeco.mailserver` on a free loopback port, stopped by its PID."""
    with running_mail_server(unused_port(), tmp_path_factory.mktemp("mail")) as server:
        yield server


@pytest_asyncio.fixture(name="app", loop_scope="session")
async def app_with_levers_and_mail(
    engine: AsyncEngine,
    database_url: str,
    levers_app: FastAPI,
    mail_server: MailServer,
) -> AsyncIterator[FastAPI]:
    settings = diagnostic_settings(
        database_url,
        default_questionnaire_path=DATA / "questionnaire-small.json",
        smtp_port=mail_server.port,
        answer_url=ANSWER_URL,
    )
    app = create_app(settings)
    http = httpx.AsyncClient(mounts={LEVERS_URL: httpx.ASGITransport(app=levers_app)})
    async with http, isolated(app, engine, http=http):
        yield app


def mailbox(name: str) -> str:
    return f"{name}.{uuid.uuid4().hex[:8]}@example.fr"


async def add_contact(client: httpx.AsyncClient, level: str, code: str, email: str, **extra: Any) -> None:
    body = {"collectivite_level": level, "collectivite": code, "email": email, **extra}
    created = await client.post("/api/v1/contacts", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text


async def send_mail(app: FastAPI) -> int:
    result = await run_job(runtime_of(app), JOBS, "send-mail", trigger=JobTrigger.cli, started_by="test")
    assert result.outcome is JobOutcome.succeeded, result
    return result.counts["sent"]


def text_of(mail: EmailMessage) -> str:
    part = mail.get_body(("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def token_in(mail: EmailMessage) -> str:
    found = LINK.search(text_of(mail))
    assert found is not None, text_of(mail)
    return found.group(1)


def csv_rows(content: bytes) -> list[dict[str, str]]:
    """The rows of one of our CSV files, after its `#` metadata lines."""
    lines = [
        line
        for line in content.decode("utf-8-sig").splitlines()
        if not (line.startswith("#") or line.startswith('"#'))
    ]
    return list(csv.DictReader(io.StringIO("\n".join(lines)), delimiter=";"))


def holder(token: str) -> dict[str, str]:
    return ANONYMOUS | {"X-Invitation-Token": token}


async def audit_count(app: FastAPI, action: str) -> int:
    async with runtime_of(app).transaction() as session:
        statement = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        return int(await session.scalar(statement) or 0)


async def contacts_for_centre(client: httpx.AsyncClient) -> dict[str, str]:
    """The région's coordination, Loiret (two contacts), Orléans; no contact for anyone else."""
    addresses = {
        "region": mailbox("cop.centre"),
        "loiret": mailbox("loiret.principal"),
        "loiret-2": mailbox("loiret.second"),
        "orleans": mailbox("orleans"),
    }
    await add_contact(client, "region", "24", addresses["region"], name="Dominique Petit")
    await add_contact(client, "departement", "45", addresses["loiret"], name="Camille Martin")
    await add_contact(client, "departement", "45", addresses["loiret-2"])
    await add_contact(client, "epci", ORLEANS, addresses["orleans"])
    return addresses


async def test_invitations_reach_the_smtp_server_with_a_link_that_opens_the_response(
    app: FastAPI,
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
    mail_server: MailServer,
) -> None:
    addresses = await contacts_for_centre(client)
    sent = await client.post(
        f"/api/v1/campaigns/{centre}/invitations",
        json={"codes": ["24", "45", ORLEANS, TOURS]},
        headers=CENTRE,
    )
    assert sent.status_code == 200, sent.text
    result = sent.json()
    assert result["kind"] == "invitation" and result["selected"] == 4 and result["already_submitted"] == 0
    assert (result["reached"], result["messages"], result["without_contact"]) == (3, 3, [TOURS])
    assert await send_mail(app) == 3
    [loiret] = mail_server.received(addresses["loiret"])
    assert mail_server.received(addresses["loiret-2"]) == []  # the primary contact only
    assert loiret["Reply-To"] == addresses["region"]  # the owner's primary contact
    assert "à vous de répondre" in loiret["Subject"]
    text = text_of(loiret)
    assert "Bonjour Camille Martin," in text and "Centre-Val de Loire lance le diagnostic" in text
    assert "invite Loiret à y répondre" in text
    opens, closes = (today() - dt.timedelta(days=7)), (today() + dt.timedelta(days=30))
    assert f"ouvert du {opens.day}" in text.replace("1er", "1") and str(closes.year) in text
    assert "Dominique Petit" in text and addresses["region"] in text
    token = token_in(loiret)
    html = loiret.get_body(("html",))
    assert html is not None and token in html.get_content()
    assert hash_token(token) not in loiret.as_string()  # the hash is what the database keeps, not the mail
    async with runtime_of(app).transaction() as session:
        hashes = set((await session.scalars(select(InvitationToken.token_hash))).all())
        assert hash_token(token) in hashes
        bodies = (await session.scalars(select(OutboxMessage.text_body))).all()
        assert not any(h in body for h in hashes if h for body in bodies)
        # once sent, the stored copy no longer carries the token (the outbox read hands out no link)
        stored = (await session.execute(select(OutboxMessage.text_body, OutboxMessage.html_body))).all()
        assert len(stored) == 3 and not any(token in text or token in html for text, html in stored)
        assert all("#jeton=(envoyé)" in text for text, _ in stored)
    opened = await client.get("/api/v1/answer", headers=holder(token))
    assert opened.status_code == 200 and opened.json()["code"] == "45"
    [orleans] = mail_server.received(addresses["orleans"])
    assert (await client.get("/api/v1/answer", headers=holder(token_in(orleans)))).json()["code"] == ORLEANS
    assert await audit_count(app, "send_invitations") == 1
    # a resend reissues: the first link stops working, the new one works
    again = await client.post(
        f"/api/v1/campaigns/{centre}/invitations", json={"codes": ["45"], "all_contacts": True}, headers=ADMIN
    )
    assert again.status_code == 200 and again.json()["messages"] == 2, again.text
    assert await send_mail(app) == 2
    assert_problem(await client.get("/api/v1/answer", headers=holder(token)), 404)
    second = mail_server.received(addresses["loiret"])[-1]
    [to_the_other] = mail_server.received(addresses["loiret-2"])
    assert token_in(second) == token_in(to_the_other) != token
    assert (await client.get("/api/v1/answer", headers=holder(token_in(second)))).status_code == 200


async def test_selection_by_type_and_departement_and_idempotent_retries(
    app: FastAPI,
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
    mail_server: MailServer,
) -> None:
    addresses = await contacts_for_centre(client)
    url = f"/api/v1/campaigns/{centre}/invitations"
    by_type = await client.post(url, json={"types": ["departement"]}, headers=CENTRE)
    assert by_type.status_code == 200, by_type.text
    assert by_type.json()["selected"] == 6 and by_type.json()["reached"] == 1  # 6 départements, Loiret only
    assert len(by_type.json()["without_contact"]) == 5
    everything_in_loiret = await client.post(url, json={"departements": ["45"]}, headers=CENTRE)
    assert everything_in_loiret.json()["reached"] == 2  # Loiret and Orléans Métropole
    assert ORLEANS not in everything_in_loiret.json()["without_contact"]
    problem = assert_problem(await client.post(url, json={"codes": ["45", "99999"]}, headers=CENTRE), 422)
    assert problem["errors"][0]["loc"] == ["body", "codes", 1]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await client.post(url, json={"codes": [ORLEANS]}, headers=CENTRE | key)
    replay = await client.post(url, json={"codes": [ORLEANS]}, headers=CENTRE | key)
    assert first.status_code == replay.status_code == 200
    assert replay.content == first.content and replay.headers["idempotent-replayed"] == "true"
    assert await send_mail(app) == 4  # 1 + 2 + 1: the replay queued nothing
    assert len(mail_server.received(addresses["orleans"])) == 2
    everyone = await client.post(url, headers=CENTRE)  # no body: every invitee
    assert everyone.status_code == 200 and everyone.json()["reached"] == 3, everyone.text


async def test_reminders_go_to_non_respondents_only(
    app: FastAPI,
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
    mail_server: MailServer,
) -> None:
    addresses = await contacts_for_centre(client)
    invited = await client.post(f"/api/v1/campaigns/{centre}/invitations", headers=CENTRE)
    assert invited.status_code == 200, invited.text
    assert await send_mail(app) == 3
    orleans_token = token_in(mail_server.received(addresses["orleans"])[0])
    loiret_token = token_in(mail_server.received(addresses["loiret"])[0])
    # Orléans submits; Loiret saves a draft; the région does nothing
    answer = {"bus-decarbones": {"pertinence": "pertinent", "mobilisation": "realise"}}
    for token in (orleans_token, loiret_token):
        saved = await client.patch(
            "/api/v1/answer/response", json={"answers": answer}, headers=holder(token) | {"If-Match": "*"}
        )
        assert saved.status_code == 200, saved.text
    submitted = await client.post("/api/v1/answer/response/submission", headers=holder(orleans_token))
    assert submitted.status_code == 200, submitted.text
    reminded = await client.post(f"/api/v1/campaigns/{centre}/reminders", headers=CENTRE)
    assert reminded.status_code == 200, reminded.text
    result = reminded.json()
    assert result["kind"] == "relance" and result["already_submitted"] == 1
    assert (result["reached"], result["messages"]) == (2, 2)
    assert ORLEANS not in result["without_contact"] and result["selected"] == invited.json()["selected"]
    assert await send_mail(app) == 2
    assert len(mail_server.received(addresses["orleans"])) == 1  # the invitation only: it submitted
    [_, reminder] = mail_server.received(addresses["loiret"])
    assert reminder["Subject"].startswith("Relance")
    assert "nous n'avons pas encore reçu la réponse de Loiret" in text_of(reminder)
    new_token = token_in(reminder)
    mine = await client.get("/api/v1/answer/response", headers=holder(new_token))
    assert mine.status_code == 200 and mine.json()["status"] == "draft"  # the draft waits
    assert mine.json()["answers"]["bus-decarbones"]["mobilisation"] == "realise"
    assert len(mail_server.received(addresses["region"])) == 2
    # a reminder to a chosen submitter is none
    only = await client.post(
        f"/api/v1/campaigns/{centre}/reminders", json={"codes": [ORLEANS]}, headers=CENTRE
    )
    assert only.json()["messages"] == 0 and only.json()["already_submitted"] == 1
    assert await audit_count(app, "send_reminders") == 2


async def test_mail_merge_tokens_come_once_in_a_file(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    addresses = await contacts_for_centre(client)
    url = f"/api/v1/campaigns/{centre}/invitation-tokens"
    issued = await client.post(url, params={"format": "csv"}, json={"codes": ["45", TOURS]}, headers=CENTRE)
    assert issued.status_code == 200, issued.text
    assert issued.headers["content-type"].startswith("text/csv")
    assert issued.headers["cache-control"] == "no-store"
    assert "attachment" in issued.headers["content-disposition"]
    rows = csv_rows(issued.content)
    assert [row["code"] for row in rows] == ["45", TOURS]
    loiret, tours = rows
    assert loiret["contact_email"] == addresses["loiret"] and tours["contact_email"] == ""
    assert loiret["link"] == f"{ANSWER_URL}#jeton={loiret['token']}"
    for row in rows:
        opened = await client.get("/api/v1/answer", headers=holder(row["token"]))
        assert opened.status_code == 200 and opened.json()["code"] == row["code"]
    workbook = await client.post(url, params={"format": "xlsx"}, json={"codes": ["45"]}, headers=CENTRE)
    assert workbook.status_code == 200, workbook.text
    sheet = openpyxl.load_workbook(io.BytesIO(workbook.content))["data"]
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[1][0] == "45"
    assert_problem(await client.get("/api/v1/answer", headers=holder(loiret["token"])), 404)  # replaced


async def test_non_respondents_and_their_export(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    addresses = await contacts_for_centre(client)
    rows = await client.post(
        f"/api/v1/campaigns/{centre}/invitation-tokens", params={"format": "csv"}, headers=CENTRE
    )
    tokens = {row["code"]: row["token"] for row in csv_rows(rows.content)}
    answer = {"bus-decarbones": {"pertinence": "pertinent"}}
    for code in (ORLEANS, TOURS):
        saved = await client.patch(
            "/api/v1/answer/response",
            json={"answers": answer},
            headers=holder(tokens[code]) | {"If-Match": "*"},
        )
        assert saved.status_code == 200, saved.text
    await client.post("/api/v1/answer/response/submission", headers=holder(tokens[ORLEANS]))
    url = f"/api/v1/campaigns/{centre}/non-respondents"
    listed = await client.get(url, params={"page_size": 200}, headers=CENTRE)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    invited = (await client.get(f"/api/v1/campaigns/{centre}", headers=CENTRE)).json()["invitee_counts"]
    assert body["total"] == sum(invited.values()) - 1
    by_code = {item["code"]: item for item in body["items"]}
    assert ORLEANS not in by_code
    assert by_code[TOURS]["status"] == "draft" and by_code["45"]["status"] == "not_started"
    assert by_code["45"]["contact_email"] == addresses["loiret"] and by_code[TOURS]["contact_email"] is None
    loiret = await client.get(url, params={"departement": "45", "type": "metropole"}, headers=CENTRE)
    assert loiret.json()["total"] == 0  # Orléans, Loiret's only métropole, submitted
    in_loiret = await client.get(url, params={"departement": "45"}, headers=CENTRE)
    assert all(item["departement"] == "45" for item in in_loiret.json()["items"])
    paged = await client.get(url, params={"page_size": 2, "page": 2}, headers=CENTRE)
    assert [i["code"] for i in paged.json()["items"]] == [i["code"] for i in body["items"][2:4]]
    exported = await client.get(f"{url}/export", params={"format": "csv", "decimal": "point"}, headers=CENTRE)
    assert exported.status_code == 200, exported.text
    exported_rows = csv_rows(exported.content)
    assert [row["code"] for row in exported_rows] == [item["code"] for item in body["items"]]
    xlsx = await client.get(f"{url}/export", params={"format": "xlsx", "departement": "45"}, headers=CENTRE)
    assert xlsx.status_code == 200, xlsx.text
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content))["data"]
    assert sheet.max_row - 1 == in_loiret.json()["total"]


async def region_campaign(
    client: httpx.AsyncClient, title: str, *, opens: int, closes: int, **extra: Any
) -> httpx.Response:
    """A new campaign of the Centre-Val de Loire on a fresh questionnaire, open from `opens` to `closes`
    days from today."""
    document = SMALL.read_text(encoding="utf-8")
    created = await client.post(
        "/api/v1/questionnaires/imports",
        content=document,
        headers=ADMIN | {"content-type": "application/json"},
    )
    assert created.status_code == 201, created.text
    day = today()
    body = {
        "questionnaire_id": created.json()["id"],
        "owner": {"level": "region", "code": "24"},
        "title": title,
        "opening_date": (day + dt.timedelta(days=opens)).isoformat(),
        "closing_date": (day + dt.timedelta(days=closes)).isoformat(),
        "panorama_version": "2024-07-24",
        **extra,
    }
    campaign = await client.post("/api/v1/campaigns", json=body, headers=CENTRE)
    assert campaign.status_code == 201, campaign.text
    return campaign


async def test_a_closed_campaign_sends_nothing(client: httpx.AsyncClient) -> None:
    campaign = await region_campaign(client, "Diagnostic clos", opens=-30, closes=-1)
    identifier = campaign.json()["id"]
    for path in ("invitations", "reminders"):
        assert_problem(await client.post(f"/api/v1/campaigns/{identifier}/{path}", headers=CENTRE), 409)
    tokens = f"/api/v1/campaigns/{identifier}/invitation-tokens"
    assert_problem(await client.post(tokens, params={"format": "csv"}, headers=CENTRE), 409)
    listed = await client.get(f"/api/v1/campaigns/{identifier}/non-respondents", headers=CENTRE)
    assert listed.status_code == 200  # still readable


async def test_who_may_send_issue_and_read_non_respondents(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    base = f"/api/v1/campaigns/{centre}"
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", f"{base}/invitations", {"json": {"codes": ["45"]}}),
        ("POST", f"{base}/reminders", {"json": {"codes": ["45"]}}),
        ("POST", f"{base}/invitation-tokens", {"json": {"codes": ["45"]}, "params": {"format": "csv"}}),
        ("GET", f"{base}/non-respondents", {}),
        ("GET", f"{base}/non-respondents/export", {"params": {"format": "csv"}}),
    ]
    expected = [
        (ADMIN, 200),
        (CENTRE, 200),
        (BRETAGNE, 404),  # another région's campaign
        (LOIRET_COORDINATOR, 403),  # a département's coordinator does not manage its région's campaign
        (CONTRIBUTOR, 403),
        (READER, 403),
        (ANONYMOUS, 401),
    ]
    for method, url, options in calls:
        for headers, status in expected:
            answered = await client.request(method, url, headers=headers, **options)
            assert answered.status_code == status, (method, url, status, answered.text)
            if status != 200:
                assert_problem(answered, status)
    assert_problem(await client.post(f"/api/v1/campaigns/{uuid.uuid4()}/invitations", headers=ADMIN), 404)


async def test_the_daily_job_reminds_campaigns_closing_in_seven_days_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    mail_server: MailServer,
) -> None:
    addresses = await contacts_for_centre(client)
    created = await client.post(
        "/api/v1/questionnaires/imports",
        content=SMALL.read_text(encoding="utf-8"),
        headers=ADMIN | {"content-type": "application/json"},
    )
    day = today()
    campaigns = {}
    for days in (7, 8):
        body = {
            "questionnaire_id": created.json()["id"],
            "owner": {"level": "region", "code": "24"},
            "title": f"Diagnostic, clôture dans {days} jours",
            "opening_date": (day - dt.timedelta(days=10)).isoformat(),
            "closing_date": (day + dt.timedelta(days=days)).isoformat(),
            "panorama_version": "2024-07-24",
        }
        campaign = await client.post("/api/v1/campaigns", json=body, headers=CENTRE)
        assert campaign.status_code == 201, campaign.text
        campaigns[days] = campaign.json()["id"]
    run = await run_job(
        runtime_of(app), JOBS, "campaign-reminders", trigger=JobTrigger.cli, started_by="test"
    )
    assert run.outcome is JobOutcome.succeeded, run
    assert run.counts["campaigns"] >= 1 and run.counts["messages"] >= 3
    assert await send_mail(app) >= 3
    [reminder] = mail_server.received(addresses["loiret"])
    assert "clôture dans 7 jours" in reminder["Subject"]  # the 8 days' campaign is not due
    opened = await client.get("/api/v1/answer", headers=holder(token_in(reminder)))
    assert opened.json()["campaign_id"] == campaigns[7]
    again = await run_job(
        runtime_of(app), JOBS, "campaign-reminders", trigger=JobTrigger.cli, started_by="test"
    )
    assert again.counts["campaigns"] == 0 and again.counts["already_reminded"] >= 1
    await send_mail(app)
    assert len(mail_server.received(addresses["loiret"])) == 1


async def test_odd_choices_are_clear_422s(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    url = f"/api/v1/campaigns/{centre}/invitations"
    for body in ([], {"codes": []}, {"codes": ["x" * 20]}, {"types": ["canton"]}, {"departements": ["9Z"]},
                 {"all_contacts": "sometimes"}, {"unknown": 1}):  # fmt: skip
        assert_problem(await client.post(url, json=body, headers=CENTRE), 422)
    listed = f"/api/v1/campaigns/{centre}/non-respondents"
    for params in ({"type": "canton"}, {"departement": "999"}, {"page_size": "0"}, {"colour": "red"}):
        assert_problem(await client.get(listed, params=params, headers=CENTRE), 422)
    tokens = f"/api/v1/campaigns/{centre}/invitation-tokens"
    assert_problem(await client.post(tokens, headers=CENTRE), 422)  # the format is required
    assert_problem(await client.post(tokens, params={"format": "pdf"}, headers=CENTRE), 422)


def test_no_token_starts_like_a_spreadsheet_formula() -> None:
    """A token starting with `-` would be written `'-…` in a CSV file (planeco_shared.tabular)."""
    tokens = {new_token() for _ in range(3000)}
    assert len(tokens) == 3000 and not any(token.startswith("-") for token in tokens)
    assert all(len(token) == 43 for token in tokens)


async def test_a_change_of_dates_withdraws_the_invitations_still_queued(
    app: FastAPI, client: httpx.AsyncClient, mail_server: MailServer
) -> None:
    """Queued with the old dates in their text, they would go out wrong: withdrawn (failed, the reason
    said, the link blanked); a title change withdraws nothing."""
    day = today()
    campaign = await region_campaign(
        client,
        "Diagnostic aux dates changeantes",
        opens=-1,
        closes=20,
        invitees={"departements": False, "epci_natures": []},
    )
    url = f"/api/v1/campaigns/{campaign.json()['id']}"
    address = mailbox("cop.centre.dates")
    await add_contact(client, "region", "24", address)
    sent = await client.post(f"{url}/invitations", json={"codes": ["24"]}, headers=CENTRE)
    assert sent.status_code == 200 and sent.json()["messages"] == 1, sent.text

    async def queued() -> OutboxMessage:
        async with runtime_of(app).transaction() as session:
            [message] = (
                await session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == address))
            ).all()
            session.expunge(message)
            return message

    first = await queued()
    assert first.status.value == "queued" and LINK.search(first.text_body)
    renamed = await client.patch(
        url, json={"title": "Diagnostic renommé"}, headers=CENTRE | {"If-Match": campaign.headers["etag"]}
    )
    assert renamed.status_code == 200, renamed.text
    assert (await queued()).status.value == "queued"
    extended = await client.patch(
        url,
        json={"closing_date": (day + dt.timedelta(days=40)).isoformat()},
        headers=CENTRE | {"If-Match": renamed.headers["etag"]},
    )
    assert extended.status_code == 200, extended.text
    withdrawn = await queued()
    assert (withdrawn.status.value, withdrawn.last_error) == ("failed", WITHDRAWN)
    assert not LINK.search(withdrawn.text_body) and not LINK.search(withdrawn.html_body)
    await send_mail(app)
    assert mail_server.received(address) == []
