"""The diagnostic of a COP end to end, through the real gateway to the real services on loopback: the default
questionnaire loaded by its job, a campaign for Centre-Val de Loire (the région, its 6 départements, its 79
EPCI), contacts, invitations, drafts and submissions by invitation token and by a contributor's account, the
live stats, and who may do what along the way."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from planeco.mailserver import MailServer

CAMPAIGNS = "/api/v1/campaigns"
CENTRE_EPCI_ORLEANS = "244500468"  # Orléans Métropole
DEFAULT_FILE = Path(__file__).parents[1] / "services/diagnostic/data/default-questionnaire/questionnaire.json"
DEFAULT = json.loads(DEFAULT_FILE.read_text(encoding="utf-8"))


async def run_job(http: httpx.AsyncClient, admin: dict[str, str], service: str, job: str) -> dict[str, Any]:
    """Start a service's job through the gateway and wait for its run to end."""
    started = await http.post(f"/api/v1/jobs/{service}/runs", json={"job": job}, headers=admin)
    assert started.status_code in (200, 201, 202), started.text
    location = started.headers.get("location") or f"/api/v1/jobs/{service}/runs/{started.json()['id']}"
    for _ in range(600):
        run: dict[str, Any] = (await http.get(location, headers=admin)).json()
        if run.get("finished_at") is not None:
            assert run["outcome"] == "succeeded", run
            return run
        await asyncio.sleep(0.1)
    raise AssertionError(f"the {job} run did not end")


async def default_questionnaire(
    http: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    listed = await http.get("/api/v1/questionnaires", params={"page_size": 100}, headers=headers)
    assert listed.status_code == 200, listed.text
    found = [q for q in listed.json()["items"] if q["owner"] is None and q["title"] == DEFAULT["title"]]
    assert found, listed.json()
    document = await http.get(f"/api/v1/questionnaires/{found[0]['id']}/document", headers=headers)
    assert document.status_code == 200, document.text
    return found[0]["id"], document.json()


def token_in(message: EmailMessage) -> str:
    """The invitation token an e-mail's answer link carries (in its fragment, never sent to a server)."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"#jeton=([A-Za-z0-9_-]{43})", body.get_content())
    assert found, body.get_content()
    return found.group(1)


def action_items(document: dict[str, Any], respondent: str) -> list[dict[str, Any]]:
    return [
        item
        for section in document["sections"]
        for item in section["items"]
        if item["kind"] == "action" and respondent in (item.get("respondent_types") or [respondent])
    ]


@pytest.mark.asyncio(loop_scope="session")
async def test_a_regional_diagnostic_from_questionnaire_to_stats_through_the_gateway(
    gateway: str, make_key: Any, mail_server: MailServer
) -> None:
    admin = {"X-API-Key": await make_key("admin")}
    centre = {"X-API-Key": await make_key("coordinator", "24")}
    occitanie = {"X-API-Key": await make_key("coordinator", "76")}
    reader = {"X-API-Key": await make_key("reader")}
    orleans = {"X-API-Key": await make_key("contributor", CENTRE_EPCI_ORLEANS)}
    today = dt.datetime.now(dt.UTC).date()
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as http:
        await run_job(http, admin, "diagnostic", "import-default-questionnaire")
        again = await run_job(http, admin, "diagnostic", "import-default-questionnaire")
        assert again["outcome"] == "succeeded"  # idempotent
        questionnaire, document = await default_questionnaire(http, centre)

        body = {
            "questionnaire_id": questionnaire,
            "owner": {"level": "region", "code": "24"},
            "title": "Diagnostic COP Centre-Val de Loire",
            "opening_date": str(today - dt.timedelta(days=1)),
            "closing_date": str(today + dt.timedelta(days=30)),
            "panorama_version": "2024-07-24",
        }
        for refused, status in ((occitanie, 403), (reader, 403), (orleans, 403), ({}, 401)):
            answer = await http.post(CAMPAIGNS, json=body, headers=refused)
            assert answer.status_code in (status, 404), (refused, answer.text)
        created = await http.post(CAMPAIGNS, json=body, headers=centre)
        assert created.status_code == 201, created.text
        campaign = created.json()
        counts = campaign["invitee_counts"]
        assert counts["region"] == 1 and counts["departement"] == 6
        assert sum(counts.get(kind, 0) for kind in ("metropole", "cu", "ca", "cc")) == 79
        assert "commune" not in counts or counts["commune"] == 0
        url = f"{CAMPAIGNS}/{campaign['id']}"
        assert (await http.get(url, headers=occitanie)).status_code == 404  # another région's: not found

        # Contacts of the Loiret and Orléans Métropole; invitations e-mailed, seen on the SMTP server.
        suffix = uuid.uuid4().hex[:8]
        loiret_mail = f"transition.{suffix}@loiret.example.fr"
        orleans_mail = f"climat.{suffix}@orleans-metropole.example.fr"
        for level, code, email in (
            ("departement", "45", loiret_mail),
            ("epci", CENTRE_EPCI_ORLEANS, orleans_mail),
        ):
            contact = await http.post(
                "/api/v1/contacts",
                json={
                    "collectivite_level": level,
                    "collectivite": code,
                    "email": email,
                    "name": "Référent COP",
                },
                headers=centre,
            )
            assert contact.status_code == 201, contact.text
        choice = {"codes": ["45", CENTRE_EPCI_ORLEANS], "all_contacts": True}
        assert (await http.post(f"{url}/invitations", json=choice, headers=occitanie)).status_code == 404
        assert (await http.post(f"{url}/invitations", json=choice, headers=orleans)).status_code == 403
        sent = await http.post(f"{url}/invitations", json=choice, headers=centre)
        assert sent.status_code == 200, sent.text
        assert (sent.json()["reached"], sent.json()["without_contact"]) == (2, [])
        await run_job(http, admin, "diagnostic", "send-mail")
        (invitation,) = mail_server.received(loiret_mail)
        assert len(mail_server.received(orleans_mail)) == 1
        token = {"X-Invitation-Token": token_in(invitation)}
        assert (await http.post(f"{url}/invitees/45/token", headers=occitanie)).status_code == 404
        opened = await http.get("/api/v1/answer", headers=token)
        assert opened.status_code == 200, opened.text
        items = action_items(document, "departement")
        first, second = items[0]["key"], items[1]["key"]
        draft = await http.patch(
            "/api/v1/answer/response",
            json={"answers": {first: {"pertinence": "pertinent", "mobilisation": "en_cours"}}},
            headers=token | {"If-Match": "*"},
        )
        assert draft.status_code == 200, draft.text
        bad = await http.patch(
            "/api/v1/answer/response",
            json={
                "answers": {"no-such-item": {"pertinence": "pertinent"}, second: {"mobilisation": "jamais"}}
            },
            headers=token | {"If-Match": draft.headers["etag"]},
        )
        assert bad.status_code == 422, bad.text
        assert len(bad.json()["errors"]) == 2  # every problem listed, nothing saved
        stale = await http.patch(
            "/api/v1/answer/response",
            json={"answers": {second: {"pertinence": "a_discuter"}}},
            headers=token | {"If-Match": '"stale"'},
        )
        assert stale.status_code == 412, stale.text
        more = await http.patch(
            "/api/v1/answer/response",
            json={"answers": {second: {"pertinence": "non_pertinent", "mobilisation": "non_engage"}}},
            headers=token | {"If-Match": draft.headers["etag"]},
        )
        assert more.status_code == 200, more.text
        submitted = await http.post("/api/v1/answer/response/submission", headers=token)
        assert submitted.status_code == 200, submitted.text
        assert submitted.json()["status"] == "submitted"
        assert (await http.post("/api/v1/answer/response/submission", headers=token)).status_code == 200
        # The token answers for the Loiret only; a wrong one is the same 404 as none.
        assert (await http.get("/api/v1/answer", headers={"X-Invitation-Token": "x" * 43})).status_code == 404

        # Reminders go to those who have not submitted: Orléans Métropole, not the Loiret.
        reminded = await http.post(f"{url}/reminders", json=choice, headers=centre)
        assert reminded.status_code == 200, reminded.text
        assert (reminded.json()["reached"], reminded.json()["already_submitted"]) == (1, 1)
        await run_job(http, admin, "diagnostic", "send-mail")
        assert len(mail_server.received(loiret_mail)) == 1
        assert len(mail_server.received(orleans_mail)) == 2
        non_respondents = await http.get(f"{url}/non-respondents", params={"page_size": 500}, headers=centre)
        assert non_respondents.status_code == 200, non_respondents.text
        assert non_respondents.json()["total"] == 85  # every invitee but the Loiret

        # Orléans Métropole answers with its agent's account (a contributor), no token; not for another.
        epci_item = action_items(document, "epci")[0]["key"]
        own = await http.patch(
            f"{url}/responses/{CENTRE_EPCI_ORLEANS}",
            json={"answers": {epci_item: {"pertinence": "pertinent", "mobilisation": "realise"}}},
            headers=orleans | {"If-Match": "*"},
        )
        assert own.status_code == 200, own.text
        other = await http.patch(
            f"{url}/responses/45",
            json={"answers": {first: {"pertinence": "pertinent"}}},
            headers=orleans | {"If-Match": "*"},
        )
        assert other.status_code in (403, 404), other.text
        assert (
            await http.post(f"{url}/responses/{CENTRE_EPCI_ORLEANS}/submission", headers=orleans)
        ).status_code == 200

        # Live stats: 86 invited, 2 started, 2 submitted; the Loiret's département counts both.
        stats = await http.get(f"{url}/stats", headers=centre)
        assert stats.status_code == 200, stats.text
        overall = stats.json()["overall"]
        assert (overall["invited"], overall["started"], overall["submitted"]) == (86, 2, 2)
        assert (await http.get(f"{url}/stats", headers=occitanie)).status_code == 404
        for outsider in (occitanie, reader, orleans, {}):  # individual responses: never beyond the campaign's
            read = await http.get(f"{url}/responses/45", headers=outsider)
            assert read.status_code in (401, 403, 404), (outsider, read.text)
        history = await http.get(f"{url}/responses/45/history", headers=centre)
        assert history.status_code == 200, history.text
        assert {entry["action"] for entry in history.json()["items"]} >= {"create", "update"}

        # The synthesis of submitted responses: its owner's coordinators read it, nobody else till published.
        synthesis = await http.get(f"{url}/synthesis", headers=centre)
        assert synthesis.status_code == 200, synthesis.text
        assert (synthesis.json()["respondents"], synthesis.json()["public"]) == (2, False)
        assert all(
            lever["family"] in (None, "engages", "a_accelerer", "a_debattre")
            for lever in synthesis.json()["levers"]
        )
        (loiret_first,) = [item for item in synthesis.json()["items"] if item["item_key"] == first]
        assert 1 <= loiret_first["overall"]["respondents"] <= 2
        for outsider in (occitanie, reader, orleans):
            assert (await http.get(f"{url}/synthesis", headers=outsider)).status_code in (403, 404)
        assert (await http.get(f"{url}/synthesis/public")).status_code == 404
        distance = await http.get(f"{url}/synthesis/distance", headers=centre)
        assert distance.status_code == 200, distance.text
        assert distance.json()["panorama_version"] == "2024-07-24"

        # Publication: a public read (open data) where figures on fewer than 3 respondents are suppressed.
        assert (await http.post(f"{url}/synthesis/publication", headers=occitanie)).status_code == 404
        published = await http.post(f"{url}/synthesis/publication", headers=centre)
        assert published.status_code in (200, 201), published.text
        public = await http.get(f"{url}/synthesis/public")
        assert public.status_code == 200, public.text
        assert public.json()["public"] is True
        assert public.json()["overall"]["suppressed"] is True  # 2 respondents: nobody's answers readable

        # Exports: the synthesis, the stats, every answer (never public).
        for path in ("synthesis/export", "stats/export", "answers/export"):
            exported = await http.get(f"{url}/{path}", params={"format": "csv"}, headers=centre)
            assert exported.status_code == 200, (path, exported.text)
            assert exported.headers["content-type"].startswith("text/csv")
        answers = (await http.get(f"{url}/answers/export", params={"format": "csv"}, headers=centre)).text
        assert CENTRE_EPCI_ORLEANS in answers and first in answers
        for outsider in (occitanie, reader, {}):
            refused = await http.get(f"{url}/answers/export", params={"format": "csv"}, headers=outsider)
            assert refused.status_code in (401, 403, 404), refused.text
        xlsx = await http.get(f"{url}/synthesis/public/export", params={"format": "xlsx"})
        assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK"), xlsx.text
