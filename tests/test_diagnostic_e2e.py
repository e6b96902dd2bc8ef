"""The diagnostic of a COP end to end, through the real gateway to the real services on loopback: the default
questionnaire loaded by its job, a campaign for Centre-Val de Loire (the région, its 6 départements, its 79
EPCI), contacts uploaded as a CSV file (a bad file refused with its row errors, changing nothing),
invitations, drafts and submissions by invitation token and by contributors' accounts, the live stats, the
synthesis with each answered lever's family, the distance to objectives (the reported vehicles summed and
converted as the levers service converts them, against the région's objective), the CSV and XLSX exports,
and who may do what along the way."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import uuid
from decimal import ROUND_HALF_EVEN, Decimal
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from planeco.mailserver import MailServer
from planeco_shared.testing import read_csv_export

CAMPAIGNS = "/api/v1/campaigns"
CENTRE_EPCI_ORLEANS = "244500468"  # Orléans Métropole
CENTRE_EPCI_TOURS = "243700754"  # Tours Métropole Val de Loire
VERSION = "2024-07-24"
FLEET, CARS = "flotte-electrique", "augm_voitelec"  # vehicles of the fleet (× 0.001: thousand vehicles)
HEDGES, HEDGES_LEVER = "planter-haies", "augm_haies"
ZONES, LAND_LEVER = "reclasser-zones", "reduc_artif"
KTCO2E = Decimal("0.0001")
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


def xlsx_rows(content: bytes) -> list[dict[str, Any]]:
    """The `data` sheet of an exported workbook, opened with openpyxl: a dict per row by column name (the
    header without its `[unit]`)."""
    assert content.startswith(b"PK")
    workbook = load_workbook(BytesIO(content), read_only=True)
    assert workbook.sheetnames == ["data", "metadata"], workbook.sheetnames
    header, *rows = workbook["data"].iter_rows(values_only=True)
    names = [str(name).split(" [", 1)[0] for name in header]
    return [dict(zip(names, row, strict=True)) for row in rows]


def exact(value: Any) -> Decimal:
    """A number of a JSON body, a CSV cell (decimal comma) or an XLSX cell, as an exact decimal."""
    return Decimal(str(value).replace(",", "."))


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
    tours = {"X-API-Key": await make_key("contributor", CENTRE_EPCI_TOURS)}
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
            "panorama_version": VERSION,
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

        # Contacts of the Loiret and Orléans Métropole, uploaded as a CSV file (all or nothing); invitations
        # e-mailed, seen on the SMTP server.
        suffix = uuid.uuid4().hex[:8]
        loiret_mail = f"transition.{suffix}@loiret.example.fr"
        orleans_mail = f"climat.{suffix}@orleans-metropole.example.fr"
        header = "collectivite_level;collectivite;email;name;function;primary\n"

        async def upload(content: str, headers: dict[str, str]) -> httpx.Response:
            return await http.post(
                "/api/v1/contacts/imports",
                content=content.encode(),
                headers=headers | {"Content-Type": "text/csv"},
            )

        async def contacts(code: str) -> set[str]:
            listed = await http.get(
                "/api/v1/contacts", params={"collectivite": code, "page_size": 100}, headers=centre
            )
            assert listed.status_code == 200, listed.text
            return {contact["email"] for contact in listed.json()["items"]}

        bad = (
            header
            + f"departement;45;{loiret_mail};Référent COP;;\n"  # a good row: not kept either
            + "epci;244500468;pas-une-adresse;;;\n"
            + f"epci;999999999;x.{suffix}@example.fr;;;\n"  # no such EPCI
            + f"departement;31;y.{suffix}@haute-garonne.example.fr;;;\n"  # Occitanie's
        )
        refused_file = await upload(bad, centre)
        assert refused_file.status_code == 422, refused_file.text
        assert refused_file.headers["content-type"] == "application/problem+json"
        assert refused_file.json()["code"] == "invalid_contacts"
        assert {(tuple(e["loc"]), e["type"]) for e in refused_file.json()["errors"]} == {
            (("row", 3, "email"), "value_error"),
            (("row", 4, "collectivite"), "not_found"),
            (("row", 5, "collectivite"), "forbidden"),
        }
        assert loiret_mail not in await contacts("45")  # nothing changed
        good = (
            header
            + f"departement;45;{loiret_mail};Référent COP;Chargée de mission;\n"
            + f"epci;{CENTRE_EPCI_ORLEANS};{orleans_mail};Référent COP;;\n"
        )
        assert (await upload(good, occitanie)).status_code == 422  # not its territory: every row refused
        assert (await upload(good, reader)).status_code == 403
        imported = await upload(good, centre)
        assert imported.status_code == 200, imported.text
        assert imported.json() == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "collectivites": 2}
        again_file = await upload(good, centre)  # idempotent
        assert (again_file.json()["created"], again_file.json()["unchanged"]) == (0, 2)
        assert loiret_mail in await contacts("45") and orleans_mail in await contacts(CENTRE_EPCI_ORLEANS)
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
        assert first == FLEET and items[0]["lever_ids"] == items[1]["lever_ids"] == [CARS]
        assert items[0]["quantity"]["lever_unit_factor"] == "0.001"  # vehicles → thousand vehicles
        draft = await http.patch(
            "/api/v1/answer/response",
            json={
                "answers": {first: {"pertinence": "pertinent", "mobilisation": "en_cours", "quantity": "35"}}
            },
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
        epci_items = {item["key"]: item for item in action_items(document, "epci")}
        epci_item = next(iter(epci_items))
        assert epci_item == FLEET
        assert (epci_items[HEDGES]["lever_ids"], epci_items[ZONES]["lever_ids"]) == (
            [HEDGES_LEVER],
            [LAND_LEVER],
        )
        own = await http.patch(
            f"{url}/responses/{CENTRE_EPCI_ORLEANS}",
            json={
                "answers": {
                    epci_item: {"pertinence": "pertinent", "mobilisation": "realise", "quantity": "120"},
                    HEDGES: {"pertinence": "pertinent", "mobilisation": "planifie"},
                    ZONES: {"pertinence": "non_pertinent", "mobilisation": "non_engage"},
                }
            },
            headers=orleans | {"If-Match": "*"},
        )
        assert own.status_code == 200, own.text
        assert own.json()["answers"][FLEET]["lever_quantity"] == "0.12"
        other = await http.patch(
            f"{url}/responses/45",
            json={"answers": {first: {"pertinence": "pertinent"}}},
            headers=orleans | {"If-Match": "*"},
        )
        assert other.status_code in (403, 404), other.text
        assert (
            await http.post(f"{url}/responses/{CENTRE_EPCI_ORLEANS}/submission", headers=orleans)
        ).status_code == 200
        # Tours Métropole too (no invitation e-mail: its agent's account is enough).
        answered = await http.patch(
            f"{url}/responses/{CENTRE_EPCI_TOURS}",
            json={
                "answers": {
                    FLEET: {"pertinence": "pertinent", "mobilisation": "realise", "quantity": "45"},
                    HEDGES: {"pertinence": "pertinent", "mobilisation": "envisage"},
                    ZONES: {"pertinence": "a_discuter", "mobilisation": None},
                }
            },
            headers=tours | {"If-Match": "*"},
        )
        assert answered.status_code == 200, answered.text
        assert (
            await http.post(f"{url}/responses/{CENTRE_EPCI_TOURS}/submission", headers=tours)
        ).status_code == 200

        # Live stats: 86 invited, 3 started, 3 submitted; the Loiret's département counts two.
        stats = await http.get(f"{url}/stats", headers=centre)
        assert stats.status_code == 200, stats.text
        overall = stats.json()["overall"]
        assert (overall["invited"], overall["started"], overall["submitted"]) == (86, 3, 3)
        by_departement = {row["departement"]: row for row in stats.json()["by_departement"]}
        assert (by_departement["45"]["submitted"], by_departement["37"]["submitted"]) == (2, 1)
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
        assert (synthesis.json()["respondents"], synthesis.json()["public"]) == (3, False)
        assert synthesis.json()["thresholds"] == {"relevance": "0.5000", "engagement": "0.5000"}
        # The families by the documented rule (default thresholds 0.5), on the answers above; every lever
        # nobody gave a pertinence on has none.
        # - vehicles: 3 pertinent of 4 answers giving one (the Loiret's charging points are not), and the 3
        #   realise or en_cours → engages;
        # - hedges: 2 pertinent of 2, neither realise nor en_cours (planifie, envisage) → a_accelerer;
        # - land: no pertinent answer (non_pertinent, a_discuter) → a_debattre.
        levers = {lever["lever_id"]: lever for lever in synthesis.json()["levers"]}
        assert {key: lever["family"] for key, lever in levers.items() if lever["family"] is not None} == {
            CARS: "engages",
            HEDGES_LEVER: "a_accelerer",
            LAND_LEVER: "a_debattre",
        }
        cars = levers[CARS]["overall"]
        assert (cars["n"], cars["respondents"], cars["pertinence"]["pertinent"]["count"]) == (4, 3, 3)
        assert (cars["relevant_share"], cars["engaged_share"]) == ("0.7500", "1.0000")
        assert levers[HEDGES_LEVER]["overall"]["engaged_share"] == "0.0000"
        assert levers[LAND_LEVER]["overall"]["relevant_share"] == "0.0000"
        (loiret_first,) = [item for item in synthesis.json()["items"] if item["item_key"] == first]
        assert (loiret_first["overall"]["n"], loiret_first["overall"]["respondents"]) == (3, 3)
        for outsider in (occitanie, reader, orleans):
            assert (await http.get(f"{url}/synthesis", headers=outsider)).status_code in (403, 404)
        assert (await http.get(f"{url}/synthesis/public")).status_code == 404
        # The distance to objectives: the fleet's vehicles summed (done: Orléans 120 + Tours 45 realise;
        # planned: the Loiret's 35 en_cours) in the lever's unit, thousand vehicles; their ktCO2e as the
        # levers service converts a change of the lever's physical value at the campaign's version, to 4
        # places half to even; against the région's objective read from the levers service.
        distance = await http.get(f"{url}/synthesis/distance", headers=centre)
        assert distance.status_code == 200, distance.text
        assert (distance.json()["panorama_version"], distance.json()["region"]) == (VERSION, "24")
        measured = {lever["lever_id"]: lever for lever in distance.json()["levers"]}
        fleet = measured[CARS]
        panorama = await http.get(f"/api/v1/panoramas/{VERSION}/regions/24", headers=centre)
        assert panorama.status_code == 200, panorama.text
        (official,) = [lever for lever in panorama.json()["levers"] if lever["lever_id"] == CARS]
        assert (fleet["unit"], exact(fleet["ratio"])) == (official["unit"], exact(official["ratio"]))
        assert fleet["summable"] is True and fleet["note"] is None

        async def levers_ktco2e(quantity: Decimal) -> Decimal:
            """What the levers service's own conversion gives for a change of `quantity` from 2019."""
            start = await http.get(
                f"/api/v1/levers/{CARS}/convert",
                params={"region": "24", "version": VERSION, "ktco2e": "0"},
                headers=centre,
            )
            assert start.status_code == 200, start.text
            converted = await http.get(
                f"/api/v1/levers/{CARS}/convert",
                params={
                    "region": "24",
                    "version": VERSION,
                    "physical": str(exact(start.json()["physical"]) + quantity),
                },
                headers=centre,
            )
            assert converted.status_code == 200, converted.text
            assert exact(converted.json()["ratio"]) == exact(official["ratio"])
            return exact(converted.json()["ktco2e"]).quantize(KTCO2E, rounding=ROUND_HALF_EVEN)

        done_kt, planned_kt = await levers_ktco2e(Decimal("0.165")), await levers_ktco2e(Decimal("0.035"))
        assert done_kt == Decimal("0.3528") and planned_kt == Decimal("0.0748")  # 0.165 and 0.035 / 0.4677
        assert fleet["done"] == {
            "quantity": "0.165", "respondents": 2, "ktco2e": str(done_kt), "suppressed": False, "reason": None
        }  # fmt: skip
        assert fleet["planned"] == {
            "quantity": "0.035", "respondents": 1, "ktco2e": str(planned_kt), "suppressed": False,
            "reason": None,
        }  # fmt: skip
        adjusted = official["adjusted"]  # another test of the session may have set the région's own
        against = exact(adjusted["objective_ktco2e"] if adjusted else official["objective_ktco2e"])
        assert exact(fleet["objective_ktco2e"]) == exact(official["objective_ktco2e"])
        assert fleet["objective_basis"] == ("adjusted" if adjusted else "official")
        if adjusted:
            assert exact(fleet["adjusted_objective_ktco2e"]) == against
        else:
            assert fleet["adjusted_objective_ktco2e"] is None
        assert exact(fleet["remaining_ktco2e"]) == against - done_kt - planned_kt
        declination = await http.get(
            f"/api/v1/panoramas/{VERSION}/regions/24/departements",
            params={"lever_id": CARS, "precision": "0.001"},
            headers=centre,
        )
        assert declination.status_code == 200, declination.text
        declined = {child["code"]: child for child in declination.json()["levers"][0]["children"]}
        places = {row["departement"]: row for row in fleet["by_departement"]}
        assert list(places) == sorted(declined)  # the six départements; no quantity from the région itself
        assert exact(places["45"]["objective_ktco2e"]) == exact(declined["45"]["objective_ktco2e"])
        assert (places["45"]["done"]["quantity"], places["45"]["planned"]["quantity"]) == ("0.12", "0.035")
        assert (places["37"]["done"]["quantity"], places["37"]["done"]["respondents"]) == ("0.045", 1)
        assert measured[HEDGES_LEVER]["planned"]["respondents"] == 0  # planifie, but no quantity given

        # Publication: a public read (open data) where figures on fewer than 3 respondents are suppressed.
        assert (await http.post(f"{url}/synthesis/publication", headers=occitanie)).status_code == 404
        published = await http.post(f"{url}/synthesis/publication", headers=centre)
        assert published.status_code in (200, 201), published.text
        public = await http.get(f"{url}/synthesis/public")
        assert public.status_code == 200, public.text
        assert public.json()["public"] is True
        # 3 respondents, but no cell (item × type × département) of 3: nobody's answers readable
        assert public.json()["overall"]["suppressed"] is True
        hidden = await http.get(f"{url}/synthesis/distance/public")
        assert hidden.status_code == 200, hidden.text
        (public_fleet,) = [lever for lever in hidden.json()["levers"] if lever["lever_id"] == CARS]
        assert public_fleet["done"]["suppressed"] and public_fleet["done"]["quantity"] is None  # 2 of them

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
        # The XLSX of the synthesis and of the stats: the same figures as the CSV and the JSON.
        synthesis_csv = await http.get(f"{url}/synthesis/export", params={"format": "csv"}, headers=centre)
        synthesis_xlsx = await http.get(f"{url}/synthesis/export", params={"format": "xlsx"}, headers=centre)
        assert synthesis_xlsx.status_code == 200, synthesis_xlsx.text
        assert synthesis_xlsx.headers["content-type"].startswith(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        (csv_cars,) = [
            row
            for row in read_csv_export(synthesis_csv.content).rows
            if (row["scope"], row["key"], row["breakdown"]) == ("lever", CARS, "overall")
        ]
        (xlsx_cars,) = [
            row
            for row in xlsx_rows(synthesis_xlsx.content)
            if (row["scope"], row["key"], row["breakdown"]) == ("lever", CARS, "overall")
        ]
        assert (xlsx_cars["family"], csv_cars["family"]) == ("engages", "engages")
        for column, figure in (
            ("n", cars["n"]),
            ("respondents", cars["respondents"]),
            ("pertinence_pertinent", cars["pertinence"]["pertinent"]["count"]),
            ("mobilisation_realise", cars["mobilisation"]["realise"]["count"]),
            ("relevant_share", cars["relevant_share"]),
            ("engaged_share", cars["engaged_share"]),
        ):
            assert exact(xlsx_cars[column]) == exact(csv_cars[column]) == exact(figure), column
        stats_xlsx = await http.get(f"{url}/stats/export", params={"format": "xlsx"}, headers=centre)
        assert stats_xlsx.status_code == 200, stats_xlsx.text
        stats_row = xlsx_rows(stats_xlsx.content)[0]
        now = (await http.get(f"{url}/stats", headers=centre)).json()["overall"]
        assert (stats_row["breakdown"], stats_row["group"]) == ("overall", None)
        stats_csv = await http.get(f"{url}/stats/export", params={"format": "csv"}, headers=centre)
        csv_overall = read_csv_export(stats_csv.content).rows[0]
        for column in ("invited", "started", "submitted", "started_rate", "submitted_rate"):
            assert exact(stats_row[column]) == exact(csv_overall[column]) == exact(now[column]), column
        assert (stats_row["invited"], stats_row["submitted"], now["submitted_rate"]) == (86, 3, "0.0349")
        for outsider in (occitanie, reader):
            refused = await http.get(f"{url}/stats/export", params={"format": "xlsx"}, headers=outsider)
            assert refused.status_code in (403, 404), refused.text
