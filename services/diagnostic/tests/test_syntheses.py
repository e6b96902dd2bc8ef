"""The synthesis of a campaign: exact counts on a hand-built small campaign (submitted responses only),
the family rule at its thresholds, publication and the suppression of figures under 3 respondents, the
distance to objectives (against the official objective, or the région's adjusted one), the exports, who
may read what."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import httpx
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations.router import today
from planeco_diagnostic.syntheses.schemas import Distance, ObjectiveUsed, Synthesis
from planeco_diagnostic.syntheses.service import share
from planeco_shared.runtime import runtime_of
from planeco_shared.tabular import XLSX_MEDIA_TYPE
from planeco_shared.testing import assert_problem, read_csv_export, read_xlsx_export

from .test_responses import (
    ADMIN,
    ANONYMOUS,
    BRETAGNE,
    CENTRE,
    CONTRIBUTOR,
    LOIRET,
    ORLEANS,
    READER,
    SMALL,
    TOURS,
    centre,
    save,
    url,
)

__all__ = ["centre"]

FLOTTE, BUS = "flotte-electrique", "bus-decarbones"


def action(pertinence: str | None, mobilisation: str | None, **more: Any) -> dict[str, Any]:
    return {"pertinence": pertinence, "mobilisation": mobilisation} | more


async def respond(
    client: httpx.AsyncClient, campaign: str, code: str, answers: dict[str, Any], *, submit: bool = True
) -> None:
    saved = await save(client, url(campaign, code), ADMIN, answers)
    assert saved.status_code == 200, saved.text
    if submit:
        submitted = await client.post(f"{url(campaign, code)}/submission", headers=ADMIN)
        assert submitted.status_code == 200, submitted.text


@pytest_asyncio.fixture(loop_scope="session")
async def answered(client: httpx.AsyncClient, centre: str) -> dict[str, str]:
    """Seven submitted responses and one draft, with known answers; their codes by role."""
    listed = await client.get(
        f"/api/v1/campaigns/{centre}/invitees", params={"page_size": "500"}, headers=CENTRE
    )
    invitees = listed.json()["items"]
    loiret_ccs = [i["code"] for i in invitees if i["type"] == "cc" and i["departement"] == "45"]
    touraine = [
        i["code"]
        for i in invitees
        if i["departement"] == "37" and i["type"] in ("cc", "ca") and i["code"] != TOURS
    ]
    codes = {"cc1": loiret_ccs[0], "cc2": loiret_ccs[1], "cc3": loiret_ccs[2], "r7": touraine[0]}
    await respond(
        client,
        centre,
        ORLEANS,
        {FLOTTE: action("pertinent", "realise", needs=["financement"], quantity="10"),
         BUS: action("pertinent", "en_cours")},
    )  # fmt: skip
    await respond(
        client,
        centre,
        TOURS,
        {FLOTTE: action("pertinent", "en_cours", quantity="4"),
         BUS: action("non_pertinent", "non_engage", needs=["ingenierie", "financement"])},
    )  # fmt: skip
    await respond(
        client,
        centre,
        codes["cc1"],
        {FLOTTE: action("pertinent", "planifie", quantity="6"), BUS: action("pertinent", "realise")},
    )
    await respond(
        client,
        centre,
        codes["cc2"],
        {FLOTTE: action("non_pertinent", "non_engage"), BUS: action("a_discuter", "envisage")},
    )
    await respond(client, centre, "24", {BUS: action("pertinent", "planifie"), "q-mode": "oui"})
    await respond(client, centre, "45", {BUS: {"needs": ["donnees"]}})
    await respond(client, centre, codes["r7"], {BUS: action("pertinent", "realise")})
    # a draft is never counted
    await respond(client, centre, codes["cc3"], {BUS: action("pertinent", "realise")}, submit=False)
    return codes


def test_shares_are_exact_to_four_places_half_to_even() -> None:
    for part, whole in [
        (1, 3),
        (2, 3),
        (1, 8),
        (3, 8),
        (1, 20000),
        (3, 20000),
        (7, 7),
        (0, 5),
        (12345, 67891),
    ]:
        expected = (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)
        assert share(part, whole) == str(expected)
    assert share(1, 20000) == "0.0000" and share(3, 20000) == "0.0002"  # exact halves go to the even
    assert share(0, 0) is None


async def open_campaign(client: httpx.AsyncClient, questionnaire_id: str, title: str) -> str:
    """A Centre-Val de Loire campaign on `questionnaire_id`, open from yesterday for ten days: its id."""
    day = today()
    body = {
        "questionnaire_id": questionnaire_id,
        "owner": {"level": "region", "code": "24"},
        "title": title,
        "opening_date": (day - dt.timedelta(days=1)).isoformat(),
        "closing_date": (day + dt.timedelta(days=10)).isoformat(),
        "panorama_version": "2024-07-24",
    }
    created = await client.post("/api/v1/campaigns", json=body, headers=CENTRE)
    assert created.status_code == 201, created.text
    identifier: str = created.json()["id"]
    return identifier


def synthesis_url(campaign: str) -> str:
    return f"/api/v1/campaigns/{campaign}/synthesis"


async def test_the_synthesis_counts_the_submitted_answers_exactly(
    client: httpx.AsyncClient, centre: str, answered: dict[str, str]
) -> None:
    read = await client.get(synthesis_url(centre), headers=CENTRE)
    assert read.status_code == 200, read.text
    body = read.json()
    # the body is built as plain data, not through the models: it is exactly what the model would give
    assert Synthesis.model_validate(body).model_dump(mode="json") == body
    assert body["counted"] == "submitted" and body["respondents"] == 7 and body["public"] is False
    assert body["overall"]["n"] == 11  # 4 fleet answers + 7 bus answers
    assert body["overall"]["needs"] == [
        {"need": "financement", "count": 2, "share": "0.1818"},
        {"need": "ingenierie", "count": 1, "share": "0.0909"},
        {"need": "donnees", "count": 1, "share": "0.0909"},
    ]
    items = {item["item_key"]: item for item in body["items"]}
    assert list(items) == [FLOTTE, BUS]
    flotte = items[FLOTTE]["overall"]
    assert flotte["n"] == 4 and flotte["respondents"] == 4
    assert flotte["pertinence"]["pertinent"] == {"count": 3, "share": "0.7500"}
    assert flotte["pertinence"]["non_pertinent"] == {"count": 1, "share": "0.2500"}
    assert flotte["pertinence"]["non_renseigne"] == {"count": 0, "share": "0.0000"}
    assert flotte["cells"] == [
        {"pertinence": "pertinent", "mobilisation": "realise", "count": 1, "share": "0.2500"},
        {"pertinence": "pertinent", "mobilisation": "en_cours", "count": 1, "share": "0.2500"},
        {"pertinence": "pertinent", "mobilisation": "planifie", "count": 1, "share": "0.2500"},
        {"pertinence": "non_pertinent", "mobilisation": "non_engage", "count": 1, "share": "0.2500"},
    ]
    assert flotte["relevant_share"] == "0.7500" and flotte["engaged_share"] == "0.6667"  # 3/4, 2/3
    bus = items[BUS]["overall"]
    assert bus["n"] == 7 and bus["pertinence"]["pertinent"]["count"] == 4  # the draft is not counted
    assert bus["pertinence"]["non_renseigne"] == {"count": 1, "share": "0.1429"}  # the Loiret: needs only
    assert bus["relevant_share"] == "0.6667" and bus["engaged_share"] == "0.7500"  # 4/6, 3/4
    by_type = {row["type"]: row for row in items[BUS]["by_type"]}
    assert by_type["metropole"]["n"] == 2 and by_type["region"]["n"] == 1
    assert sum(row["n"] for row in items[BUS]["by_type"]) == 7
    by_departement = {row["departement"]: row for row in items[BUS]["by_departement"]}
    assert list(by_departement) == ["37", "45", None]
    assert [by_departement[d]["n"] for d in ("37", "45", None)] == [2, 4, 1]
    assert by_departement["45"]["pertinence"]["pertinent"]["count"] == 2  # Orléans and the first CC
    levers = {lever["lever_id"]: lever for lever in body["levers"]}
    assert levers["augm_voitelec"]["item_keys"] == [FLOTTE]
    assert levers["augm_voitelec"]["overall"]["respondents"] == 4
    assert levers["augm_buselec"]["overall"]["respondents"] == 7
    assert levers["augm_voitelec"]["family"] == "engages" and levers["augm_buselec"]["family"] == "engages"
    assert levers["augm_voitelec"]["overall"]["needs"] == [
        {"need": "financement", "count": 1, "share": "0.2500"}
    ]
    departements = {d["departement"]: d for d in body["departements"]}
    assert departements["45"]["respondents"] == 4  # Orléans, two CC, the Loiret
    assert departements["45"]["strengths"] == [
        {"item_key": BUS, "label": "Décarboner les bus et cars du réseau", "count": 2, "share": "0.5000"},
        {"item_key": FLOTTE, "label": "Électrifier la flotte de véhicules de la collectivité", "count": 1,
         "share": "0.3333"},
    ]  # fmt: skip
    assert departements["45"]["main_levers"] == [
        {"lever_id": "augm_buselec", "count": 2, "share": "0.5000"},
        {"lever_id": "augm_voitelec", "count": 1, "share": "0.3333"},
    ]
    assert departements[None]["respondents"] == 1 and departements[None]["strengths"] == []
    # a coordinator reopening a response takes it out of the synthesis
    reopened = await client.post(f"{url(centre, answered['r7'])}/reopening", headers=CENTRE)
    assert reopened.status_code == 200
    again = (await client.get(synthesis_url(centre), headers=ADMIN)).json()
    assert again["respondents"] == 6 and again["items"][1]["overall"]["n"] == 6


async def test_the_synthesis_is_built_once_per_data_version_and_revalidated(
    client: httpx.AsyncClient, centre: str, answered: dict[str, str]
) -> None:
    plain = CENTRE | {"Accept-Encoding": "identity"}
    first = await client.get(synthesis_url(centre), headers=plain)
    assert first.status_code == 200 and first.headers["cache-control"] == "private, no-cache"
    assert "content-encoding" not in first.headers
    etag = first.headers["etag"]
    again = await client.get(synthesis_url(centre), headers=plain)
    assert again.headers["etag"] == etag and again.content == first.content
    unchanged = await client.get(synthesis_url(centre), headers=CENTRE | {"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    # other thresholds are another view, with its own tag
    other = await client.get(synthesis_url(centre), params={"relevance_threshold": "0.9"}, headers=CENTRE)
    assert other.status_code == 200 and other.headers["etag"] != etag
    # gzip is its own representation, with its own tag
    zipped = await client.get(synthesis_url(centre), headers=CENTRE | {"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["etag"] != etag
    assert zipped.json() == first.json()
    # a submission changes the data: the old tag no longer matches, the figures follow
    await respond(client, centre, answered["cc3"], {}, submit=True)
    changed = await client.get(synthesis_url(centre), headers=CENTRE | {"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert changed.json()["respondents"] == first.json()["respondents"] + 1
    # the tag is the view's, not a pass: a coordinator of another région still gets 404 with it
    refused = await client.get(synthesis_url(centre), headers=BRETAGNE | {"If-None-Match": etag})
    assert refused.status_code == 404


async def test_the_family_rule_at_its_thresholds(
    client: httpx.AsyncClient, centre: str, answered: dict[str, str]
) -> None:
    async def families(**params: str) -> dict[str, str | None]:
        read = await client.get(synthesis_url(centre), params=params, headers=CENTRE)
        assert read.status_code == 200, read.text
        return {lever["lever_id"]: lever["family"] for lever in read.json()["levers"]}

    # fleet: 3 of 4 pertinent, 2 of those 3 engaged; bus: 4 of 6 pertinence given, 3 of 4 engaged
    assert (await families(relevance_threshold="0.75"))["augm_voitelec"] == "engages"  # 3 ≥ 0.75 × 4
    assert (await families(relevance_threshold="0.7501"))["augm_voitelec"] == "a_debattre"
    assert (await families(engagement_threshold="0.6666"))["augm_voitelec"] == "engages"
    assert (await families(engagement_threshold="0.6667"))["augm_voitelec"] == "a_accelerer"  # 2 < 2.0001
    assert (await families(engagement_threshold="0.75"))["augm_buselec"] == "engages"  # 3 ≥ 0.75 × 4
    assert (await families(engagement_threshold="0.7501"))["augm_buselec"] == "a_accelerer"
    assert (await families(relevance_threshold="0.6667"))["augm_buselec"] == "a_debattre"  # 4 < 4.0002
    assert "reduc_rfioul" not in await families()  # no action item under it
    for bad in (
        {"relevance_threshold": "1.5"},
        {"engagement_threshold": "x"},
        {"relevance_threshold": "0.12345"},
    ):
        assert_problem(await client.get(synthesis_url(centre), params=bad, headers=CENTRE), 422)


async def test_publication_makes_a_suppressed_public_read(
    client: httpx.AsyncClient, app: FastAPI, centre: str, answered: dict[str, str]
) -> None:
    public_url = f"{synthesis_url(centre)}/public"
    publication_url = f"{synthesis_url(centre)}/publication"
    # before publication: only the owner's coordinators and admins; others 404
    for caller in (LOIRET, BRETAGNE, CONTRIBUTOR, READER):
        assert_problem(await client.get(synthesis_url(centre), headers=caller), 404)
    assert_problem(await client.get(synthesis_url(centre), headers=ANONYMOUS), 401)
    for caller in (ADMIN, CENTRE, LOIRET, BRETAGNE, CONTRIBUTOR, READER, ANONYMOUS):
        assert_problem(await client.get(public_url, headers=caller), 404)
    for caller in (LOIRET, BRETAGNE, CONTRIBUTOR, READER):
        assert_problem(await client.post(publication_url, headers=caller), 404)
    assert_problem(await client.post(publication_url, headers=ANONYMOUS), 401)
    # the third Loiret CC submits: its bus answer makes a cell of 3 (the CCs of the Loiret)
    await respond(client, centre, answered["cc3"], {BUS: action("pertinent", "realise")})
    published = await client.post(publication_url, headers=CENTRE)
    assert published.status_code == 201, published.text
    again = await client.post(publication_url, headers=ADMIN)
    assert again.status_code == 200 and again.json() == published.json()
    async with runtime_of(app).sessionmaker() as session:
        audited = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.actor_role, AuditEntry.entity_id).where(
                    AuditEntry.entity_type == "synthesis"
                )
            )
        ).all()
    assert [tuple(row) for row in audited] == [("publish", "coordinator", centre)]  # once
    read = await client.get(public_url, headers=ANONYMOUS)
    assert read.status_code == 200, read.text
    assert "public" in read.headers["cache-control"]
    body = read.json()
    assert body["public"] is True and body["published_at"] == published.json()["published_at"]
    assert Synthesis.model_validate(body).model_dump(mode="json") == body
    items = {item["item_key"]: item for item in body["items"]}
    # The public form keeps whole cells of 3 answers or more (item × type × département): for the bus
    # item only the three Loiret CCs; everything else is left out and counted as withheld.
    bus = items[BUS]
    assert bus["overall"]["n"] == 3 and bus["overall"]["respondents"] == 3 and bus["withheld"] == 5
    assert bus["overall"]["pertinence"]["pertinent"]["count"] == 2  # cc1, cc3 (cc2 a_discuter)
    assert [(row["type"], row["n"]) for row in bus["by_type"] if not row["suppressed"]] == [("cc", 3)]
    full = (await client.get(synthesis_url(centre), headers=CENTRE)).json()
    full_types = {row["type"] for row in full["items"][1]["by_type"]}
    assert {row["type"] for row in bus["by_type"]} == full_types  # the others listed, suppressed
    for row in bus["by_type"]:
        if row["type"] != "cc":
            assert row["suppressed"] and row["n"] is None and row["cells"] is None
            assert row["reason"].startswith("fewer than 3 respondents")
    departements = {row["departement"]: row for row in bus["by_departement"]}
    assert (
        departements["45"]["n"] == 3 and departements["37"]["suppressed"] and departements[None]["suppressed"]
    )
    flotte = items[FLOTTE]  # two CCs, two métropoles: no cell of 3
    assert flotte["overall"]["suppressed"] and flotte["withheld"] == 4
    assert body["withheld"] == 9 and full["withheld"] is None and full["items"][0]["withheld"] is None
    # every public figure is the exact sum of its shown groups: no difference isolates anyone
    levers = {lever["lever_id"]: lever for lever in body["levers"]}
    for figure in [*body["items"], *body["levers"]]:
        overall = figure["overall"]["n"] or 0
        for breakdown in ("by_type", "by_departement"):
            assert sum(row["n"] or 0 for row in figure[breakdown]) == overall
    assert levers["augm_buselec"]["overall"]["n"] == 3 and levers["augm_voitelec"]["overall"]["suppressed"]
    assert body["overall"]["n"] == 3 and body["respondents"] == 3
    summaries = {d["departement"]: d for d in body["departements"]}
    assert summaries[None]["suppressed"] and summaries[None]["strengths"] is None
    assert summaries["37"]["suppressed"]  # Tours and one CC: listed, no kept answer
    assert summaries["45"]["respondents"] == 3
    assert summaries["45"]["strengths"] == [
        {"item_key": BUS, "label": "Décarboner les bus et cars du réseau", "count": 2, "share": "0.6667"}
    ]
    # the same public form for any authenticated caller who is not a manager; managers keep the full one
    for caller in (READER, CONTRIBUTOR, LOIRET, BRETAGNE):
        other = await client.get(synthesis_url(centre), headers=caller)
        assert other.status_code == 200 and other.json()["public"] is True
    full = (await client.get(synthesis_url(centre), headers=CENTRE)).json()
    assert full["public"] is False and full["items"][1]["by_type"][0]["n"] is not None
    # a 304 for a client that has it
    cached = await client.get(public_url, headers=ANONYMOUS | {"If-None-Match": read.headers["etag"]})
    assert cached.status_code == 304
    # individual responses stay private
    assert_problem(await client.get(url(centre), headers=READER), 403)


async def test_the_distance_to_objectives_sums_the_reported_quantities(
    client: httpx.AsyncClient, levers_app: FastAPI, centre: str, answered: dict[str, str]
) -> None:
    # The real factors of Centre-Val de Loire at 2024-07-24 (the levers service's panorama)
    levers = httpx.AsyncClient(transport=httpx.ASGITransport(app=levers_app), base_url="http://levers.test")
    async with levers:
        panorama = await levers.get("/api/v1/panoramas/2024-07-24/regions/24", headers=ADMIN)
    lever = next(row for row in panorama.json()["levers"] if row["lever_id"] == "augm_voitelec")
    assert lever["ratio"] == "0.4677" and lever["objective_ktco2e"] == "482.1358"
    assert lever["unit"].startswith("milliers de véhicules électriques")
    read = await client.get(f"{synthesis_url(centre)}/distance", headers=CENTRE)
    assert read.status_code == 200, read.text
    body = read.json()
    assert body["counted"] == "submitted" and body["panorama_version"] == "2024-07-24"
    assert [row["lever_id"] for row in body["levers"]] == ["augm_voitelec"]  # the one item with a quantity
    figures = body["levers"][0]
    assert figures["summable"] and figures["note"] is None and figures["ratio"] == "0.4677"
    # done: Orléans 10 vehicles realise = 0.01 thousand; 0.01 / 0.4677 = 0.021381… → 0.0214
    assert figures["done"] == {
        "quantity": "0.01", "respondents": 1, "ktco2e": "0.0214", "suppressed": False, "reason": None
    }  # fmt: skip
    # planned: Tours 4 en_cours + the first CC 6 planifie = 0.01 thousand (the draft is not counted)
    assert figures["planned"]["quantity"] == "0.01" and figures["planned"]["respondents"] == 2
    assert figures["planned"]["ktco2e"] == "0.0214"
    assert figures["objective_basis"] == "official" and figures["adjusted_objective_ktco2e"] is None
    assert figures["remaining_ktco2e"] == "482.0930"  # 482.1358 − 0.0214 − 0.0214
    departements = {row["departement"]: row for row in figures["by_departement"]}
    assert list(departements) == ["18", "28", "36", "37", "41", "45"]
    assert departements["45"]["objective_ktco2e"] == "128.829"  # the declined official objective
    assert departements["45"]["done"]["quantity"] == "0.01"
    assert departements["45"]["planned"] == {
        "quantity": "0.006",
        "respondents": 1,
        "ktco2e": "0.0128",
        "suppressed": False,
        "reason": None,
    }  # fmt: skip  0.006 / 0.4677 = 0.012828…
    assert departements["37"]["planned"]["ktco2e"] == "0.0086"  # 0.004 / 0.4677 = 0.008552…
    assert departements["18"]["done"] == {
        "quantity": "0", "respondents": 0, "ktco2e": "0.0000", "suppressed": False, "reason": None
    }  # fmt: skip
    # who reads it: managers; others 404 until published, then the public form
    for caller in (LOIRET, BRETAGNE, CONTRIBUTOR, READER):
        assert_problem(await client.get(f"{synthesis_url(centre)}/distance", headers=caller), 404)
    assert_problem(await client.get(f"{synthesis_url(centre)}/distance/public", headers=ANONYMOUS), 404)
    assert (await client.post(f"{synthesis_url(centre)}/publication", headers=ADMIN)).status_code == 201
    public = await client.get(f"{synthesis_url(centre)}/distance/public", headers=ANONYMOUS)
    assert public.status_code == 200, public.text
    hidden = public.json()["levers"][0]
    assert hidden["done"]["suppressed"] and hidden["done"]["quantity"] is None  # 1 respondent
    assert hidden["planned"]["suppressed"] and hidden["planned"]["ktco2e"] is None  # 2 respondents
    assert hidden["remaining_ktco2e"] is None
    assert (await client.get(f"{synthesis_url(centre)}/distance", headers=READER)).json()["public"] is True


async def test_an_intensive_lever_is_not_summable(client: httpx.AsyncClient) -> None:
    document = json.loads(SMALL.read_text(encoding="utf-8"))
    document["sections"][0]["lever_ids"].append("reduc_consovp")
    document["sections"][0]["items"].append(
        {"key": "conso-flotte", "kind": "action", "label": "Réduire la consommation de la flotte thermique",
         "help": "", "lever_ids": ["reduc_consovp"], "respondent_types": None,
         "quantity": {"label": "Consommation moyenne", "unit": "L/100km", "lever_unit_factor": "1"}}
    )  # fmt: skip
    created = await client.post("/api/v1/questionnaires/imports", json=document, headers=ADMIN)
    assert created.status_code == 201, created.text
    identifier = await open_campaign(client, created.json()["id"], "Diagnostic avec une intensité")
    await respond(
        client, identifier, ORLEANS, {"conso-flotte": action("pertinent", "realise", quantity="6.5")}
    )
    read = await client.get(f"{synthesis_url(identifier)}/distance", headers=CENTRE)
    assert read.status_code == 200, read.text
    figures = {row["lever_id"]: row for row in read.json()["levers"]}["reduc_consovp"]
    assert figures["summable"] is False and "intensive unit" in figures["note"]
    assert figures["done"] == {
        "quantity": None, "respondents": 1, "ktco2e": None, "suppressed": False, "reason": None
    }  # fmt: skip
    assert figures["remaining_ktco2e"] is None


async def test_exports_of_the_synthesis_the_stats_and_every_answer(
    client: httpx.AsyncClient, centre: str, answered: dict[str, str]
) -> None:
    base = f"/api/v1/campaigns/{centre}"
    synthesis = await client.get(f"{base}/synthesis/export", params={"format": "csv"}, headers=CENTRE)
    assert synthesis.status_code == 200, synthesis.text
    assert synthesis.headers["content-disposition"] == f'attachment; filename="planeco-synthese-{centre}.csv"'
    table = read_csv_export(synthesis.content)
    rows = {(r["scope"], r["key"], r["breakdown"], r["group"]): r for r in table.rows}
    lever = rows[("lever", "augm_voitelec", "overall", None)]
    assert lever["family"] == "engages" and lever["n"] == "4" and lever["respondents"] == "4"
    assert lever["pertinence_pertinent"] == "3" and lever["mobilisation_realise"] == "1"
    assert lever["relevant_share"] == "0,75" and lever["engaged_share"] == "0,6667"
    assert rows[("item", BUS, "departement", "45")]["n"] == "4"
    assert table.metadata["counted"] == ["réponses soumises uniquement"]
    workbook = await client.get(f"{base}/synthesis/export", params={"format": "xlsx"}, headers=ADMIN)
    assert workbook.status_code == 200
    assert read_xlsx_export(workbook.content).rows[0]["key"] == "augm_voitelec"
    stats = await client.get(
        f"{base}/stats/export", params={"format": "csv", "decimal": "point"}, headers=CENTRE
    )
    assert stats.status_code == 200, stats.text
    overall = read_csv_export(stats.content).rows[0]
    assert overall == {
        "breakdown": "overall",
        "group": None,
        "invited": "86",
        "started": "8",
        "submitted": "7",
        "started_rate": "0.093",
        "submitted_rate": "0.0814",
    }  # fmt: skip  8/86 = 0.0930…, 7/86 = 0.0813953…
    answers = await client.get(f"{base}/answers/export", params={"format": "csv"}, headers=CENTRE)
    assert answers.status_code == 200, answers.text
    assert answers.headers["content-type"].startswith("text/csv")
    exported = read_csv_export(answers.content).rows
    assert len(exported) == 13  # every answer, drafts included, one row per collectivité × item
    orleans = next(r for r in exported if r["code"] == ORLEANS and r["item_key"] == FLOTTE)
    assert orleans["name"] == "Orléans Métropole" and orleans["type"] == "metropole"
    assert (
        orleans["quantity"] == "10" and orleans["lever_quantity"] == "0,01" and orleans["unit"] == "véhicules"
    )
    assert orleans["needs"] == "financement" and orleans["status"] == "submitted"
    region = next(r for r in exported if r["code"] == "24" and r["item_key"] == "q-mode")
    assert region["value"] == "oui" and region["kind"] == "single_choice"
    draft = next(r for r in exported if r["code"] == answered["cc3"])
    assert draft["status"] == "draft"
    assert [r["code"] for r in exported] == sorted(r["code"] for r in exported)
    xlsx = await client.get(f"{base}/answers/export", params={"format": "xlsx"}, headers=ADMIN)
    assert xlsx.status_code == 200 and len(read_xlsx_export(xlsx.content).rows) == 13
    # who may export
    for caller in (LOIRET, BRETAGNE, CONTRIBUTOR, READER):
        assert_problem(
            await client.get(f"{base}/answers/export", params={"format": "csv"}, headers=caller), 404
        )
        assert_problem(
            await client.get(f"{base}/synthesis/export", params={"format": "csv"}, headers=caller), 404
        )
    assert_problem(
        await client.get(f"{base}/answers/export", params={"format": "csv"}, headers=ANONYMOUS), 401
    )
    assert_problem(await client.get(f"{base}/stats/export", params={"format": "csv"}, headers=READER), 403)
    assert_problem(await client.get(f"{base}/stats/export", params={"format": "csv"}, headers=BRETAGNE), 404)
    public = f"{base}/synthesis/public/export"
    assert_problem(await client.get(public, params={"format": "csv"}, headers=ANONYMOUS), 404)
    await respond(client, centre, answered["cc3"], {BUS: action("pertinent", "realise")})  # a cell of 3
    assert (await client.post(f"{base}/synthesis/publication", headers=CENTRE)).status_code == 201
    opened = await client.get(public, params={"format": "csv"}, headers=ANONYMOUS)
    assert opened.status_code == 200, opened.text
    public_rows = {
        (r["scope"], r["key"], r["breakdown"], r["group"]): r for r in read_csv_export(opened.content).rows
    }
    hidden = public_rows[("item", BUS, "type", "region")]
    assert hidden["suppressed"] == "true" and hidden["n"] is None and hidden["pertinence_pertinent"] is None
    assert public_rows[("item", BUS, "overall", None)]["n"] == "3"  # the Loiret CCs' cell only
    assert_problem(await client.get(f"{base}/answers/export", params={"format": "csv"}, headers=READER), 404)


async def test_two_campaigns_on_one_questionnaire_are_compared_on_their_shared_items(
    client: httpx.AsyncClient, centre: str, answered: dict[str, str]
) -> None:
    first = (await client.get(f"/api/v1/campaigns/{centre}", headers=CENTRE)).json()
    second = await open_campaign(
        client, first["questionnaire_id"], "Diagnostic COP Centre-Val de Loire, deuxième vague"
    )
    await respond(client, second, ORLEANS, {FLOTTE: action("pertinent", "realise")})
    await respond(client, second, TOURS, {FLOTTE: action("non_pertinent", "non_engage")})
    compared_url = f"{synthesis_url(centre)}/comparison"
    read = await client.get(compared_url, params={"with": second}, headers=CENTRE)
    assert read.status_code == 200, read.text
    compared = read.json()
    assert compared["with_campaign_id"] == second and compared["counted"] == "submitted"
    assert compared["only_in_first"] == compared["only_in_second"] == []
    items = {row["key"]: row for row in compared["items"]}
    flotte = items[FLOTTE]
    assert flotte["first"]["n"] == 4 and flotte["second"]["n"] == 2
    assert flotte["first"]["pertinence"]["pertinent"] == "0.7500"
    assert flotte["second"]["pertinence"]["pertinent"] == "0.5000"
    assert flotte["difference"]["pertinence"]["pertinent"] == "-0.2500"  # 1/2 − 3/4
    assert flotte["difference"]["relevant_share"] == "-0.2500"
    assert flotte["difference"]["engaged_share"] == "0.3333"  # 1/1 − 2/3
    bus = items[BUS]
    assert bus["second"]["n"] == 0 and bus["difference"]["relevant_share"] is None
    levers = {row["key"]: row for row in compared["levers"]}
    assert levers["augm_voitelec"]["difference"]["pertinence"]["non_pertinent"] == "0.2500"  # 1/2 − 1/4
    # who may compare: those who read both syntheses
    for caller in (BRETAGNE, READER, LOIRET):
        assert_problem(await client.get(compared_url, params={"with": second}, headers=caller), 404)
    # anonymous: a public read once both are published (open data), the same 404 before
    assert_problem(await client.get(compared_url, params={"with": second}, headers=ANONYMOUS), 404)
    assert_problem(await client.get(compared_url, headers=CENTRE), 422)
    assert_problem(await client.get(compared_url, params={"with": "x"}, headers=CENTRE), 422)
    # another questionnaire: nothing to compare
    document = json.loads(SMALL.read_text(encoding="utf-8"))
    other = await client.post("/api/v1/questionnaires/imports", json=document, headers=ADMIN)
    third = await open_campaign(client, other.json()["id"], "Autre questionnaire")
    refused = await client.get(compared_url, params={"with": third}, headers=CENTRE)
    assert assert_problem(refused, 422)["errors"][0]["loc"] == ["query", "with"]


async def test_two_campaigns_on_two_editions_are_compared_on_the_items_they_share(
    client: httpx.AsyncClient, centre: str, answered: dict[str, str]
) -> None:
    # edition 2 of the first campaign's questionnaire (locked by that campaign): a copy, made through the
    # API, without the bus item and with an action item on a lever the first edition has no item under
    first = (await client.get(f"/api/v1/campaigns/{centre}", headers=CENTRE)).json()
    made = await client.post(f"/api/v1/questionnaires/{first['questionnaire_id']}/editions", headers=ADMIN)
    assert made.status_code == 201, made.text
    edition = made.json()
    assert (edition["edition"], edition["lineage_id"]) == (2, first["questionnaire_id"])
    document_url = f"/api/v1/questionnaires/{edition['id']}/document"
    document = (await client.get(document_url, headers=ADMIN)).json()
    vehicles, energy = document["sections"]
    vehicles["items"] = [item for item in vehicles["items"] if item["key"] != BUS]
    energy["items"].append(
        {"key": "chaudieres-fioul", "kind": "action", "label": "Remplacer les chaudières au fioul",
         "help": "", "lever_ids": ["reduc_rfioul"], "respondent_types": None, "quantity": None}
    )  # fmt: skip
    changed = await client.put(
        document_url, json=document, headers=ADMIN | {"If-Match": made.headers["etag"]}
    )
    assert changed.status_code == 200, changed.text
    second = await open_campaign(client, edition["id"], "Diagnostic COP Centre-Val de Loire, édition 2")
    # fleet, second campaign: 5 answers, 3 pertinent of which 1 engaged (first: 4, 3 pertinent, 2 engaged)
    fuel = "chaudieres-fioul"
    await respond(
        client,
        second,
        ORLEANS,
        {FLOTTE: action("pertinent", "realise"), fuel: action("pertinent", "en_cours")},
    )
    await respond(client, second, TOURS, {FLOTTE: action("pertinent", "planifie")})
    await respond(client, second, answered["cc1"], {FLOTTE: action("pertinent", "envisage")})
    await respond(client, second, answered["cc2"], {FLOTTE: action("a_discuter", "envisage")})
    await respond(client, second, answered["cc3"], {FLOTTE: action("non_pertinent", "non_engage")})
    await respond(client, second, "24", {fuel: action("a_discuter", None)})
    await respond(client, second, "45", {fuel: action("pertinent", "realise")}, submit=False)  # a draft
    gone = await save(client, url(second, "45"), ADMIN, {BUS: action("pertinent", "realise")})
    assert assert_problem(gone, 422)["errors"][0]["type"] == "unknown_item"  # not in edition 2

    compared_url = f"{synthesis_url(centre)}/comparison"
    read = await client.get(compared_url, params={"with": second}, headers=CENTRE)
    assert read.status_code == 200, read.text
    compared = read.json()
    assert (compared["campaign_id"], compared["with_campaign_id"]) == (centre, second)
    assert compared["counted"] == "submitted"
    assert compared["only_in_first"] == [BUS] and compared["only_in_second"] == [fuel]
    assert [row["key"] for row in compared["items"]] == [FLOTTE]
    flotte = compared["items"][0]
    assert flotte["label"] == "Électrifier la flotte de véhicules de la collectivité"
    assert (flotte["first"]["n"], flotte["first"]["respondents"]) == (4, 4)
    assert (flotte["second"]["n"], flotte["second"]["respondents"]) == (5, 5)
    assert flotte["first"]["pertinence"] == {
        "pertinent": "0.7500", "non_pertinent": "0.2500", "a_discuter": "0.0000", "non_renseigne": "0.0000"
    }  # fmt: skip
    assert flotte["second"]["pertinence"] == {
        "pertinent": "0.6000", "non_pertinent": "0.2000", "a_discuter": "0.2000", "non_renseigne": "0.0000"
    }  # fmt: skip
    assert flotte["second"]["mobilisation"] == {
        "realise": "0.2000", "en_cours": "0.0000", "planifie": "0.2000", "envisage": "0.4000",
        "non_engage": "0.2000", "non_renseigne": "0.0000",
    }  # fmt: skip
    assert (flotte["first"]["relevant_share"], flotte["second"]["relevant_share"]) == ("0.7500", "0.6000")
    assert (flotte["first"]["engaged_share"], flotte["second"]["engaged_share"]) == ("0.6667", "0.3333")
    assert flotte["difference"] == {
        "pertinence": {
            "pertinent": "-0.1500", "non_pertinent": "-0.0500", "a_discuter": "0.2000",
            "non_renseigne": "0.0000",
        },
        "mobilisation": {
            "realise": "-0.0500", "en_cours": "-0.2500", "planifie": "-0.0500", "envisage": "0.4000",
            "non_engage": "-0.0500", "non_renseigne": "0.0000",
        },
        "relevant_share": "-0.1500",  # 3/5 − 3/4
        "engaged_share": "-0.3333",  # 1/3 − 2/3 exactly, not 0.3333 − 0.6667
    }  # fmt: skip
    # per lever: only the one whose items are the same in both (the bus lever has no item in the second,
    # the fuel lever none in the first)
    assert [row["key"] for row in compared["levers"]] == ["augm_voitelec"]
    lever = compared["levers"][0]
    assert (lever["first"], lever["second"], lever["difference"]) == (
        flotte["first"],
        flotte["second"],
        flotte["difference"],
    )
    # the other way round: the sides and the lists swap, the differences change sign
    back = await client.get(f"{synthesis_url(second)}/comparison", params={"with": centre}, headers=ADMIN)
    assert back.status_code == 200, back.text
    reverse = back.json()
    assert reverse["only_in_first"] == [fuel] and reverse["only_in_second"] == [BUS]
    assert (
        reverse["items"][0]["first"] == flotte["second"] and reverse["items"][0]["second"] == flotte["first"]
    )
    assert reverse["items"][0]["difference"]["engaged_share"] == "0.3333"
    assert reverse["items"][0]["difference"]["pertinence"]["a_discuter"] == "-0.2000"

    # a campaign on an unrelated questionnaire (the same content imported again: another lineage)
    other = await client.post(
        "/api/v1/questionnaires/imports", json=json.loads(SMALL.read_text(encoding="utf-8")), headers=ADMIN
    )
    assert other.status_code == 201, other.text
    unrelated = await open_campaign(client, other.json()["id"], "Diagnostic sur un autre questionnaire")
    for campaign in (centre, second):
        refused = await client.get(
            f"{synthesis_url(campaign)}/comparison", params={"with": unrelated}, headers=CENTRE
        )
        problem = assert_problem(refused, 422)
        assert "different questionnaires" in problem["detail"]
        assert [(e["loc"], e["type"]) for e in problem["errors"]] == [
            (["query", "with"], "other-questionnaire")
        ]


async def test_the_distance_is_set_against_the_regions_adjusted_objective_when_it_set_one(
    client: httpx.AsyncClient, levers_app: FastAPI, centre: str, answered: dict[str, str]
) -> None:
    # The région's own objective for the fleet lever, stored by the levers service (its adjustments),
    # withdrawn at the end: the levers database is shared by the session.
    adjustment = "/api/v1/panoramas/2024-07-24/regions/24/adjustments/augm_voitelec"
    distance_url = f"{synthesis_url(centre)}/distance"
    levers = httpx.AsyncClient(transport=httpx.ASGITransport(app=levers_app), base_url="http://levers.test")
    async with levers:
        put = await levers.put(
            adjustment,
            json={"objective_ktco2e": "300.5", "comment": "SRADDET Centre-Val de Loire"},
            headers=CENTRE,
        )
        assert put.status_code == 201, put.text
        etag = put.headers["etag"]
        try:
            panorama = await levers.get("/api/v1/panoramas/2024-07-24/regions/24", headers=CENTRE)
            lever = next(row for row in panorama.json()["levers"] if row["lever_id"] == "augm_voitelec")
            assert lever["adjusted"]["objective_ktco2e"] == "300.5"
            read = await client.get(distance_url, headers=CENTRE)
            assert read.status_code == 200, read.text
            assert Distance.model_validate(read.json()).model_dump(mode="json") == read.json()
            figures = read.json()["levers"][0]
            assert figures["lever_id"] == "augm_voitelec"
            assert figures["objective_basis"] == ObjectiveUsed.adjusted.value == "adjusted"
            assert figures["adjusted_objective_ktco2e"] == "300.5"
            assert figures["objective_ktco2e"] == "482.1358"  # the official one, still given
            assert (figures["done"]["ktco2e"], figures["planned"]["ktco2e"]) == ("0.0214", "0.0214")
            assert figures["remaining_ktco2e"] == "300.4572"  # 300.5 − 0.0214 − 0.0214, not the official's
            departements = {row["departement"]: row for row in figures["by_departement"]}
            assert departements["45"]["objective_ktco2e"] == "128.829"  # the declined official objective
            # the public form sets it against the adjusted objective too (figures suppressed: < 3)
            assert (
                await client.post(f"{synthesis_url(centre)}/publication", headers=CENTRE)
            ).status_code == 201
            public = (await client.get(f"{distance_url}/public", headers=ANONYMOUS)).json()["levers"][0]
            assert (public["objective_basis"], public["adjusted_objective_ktco2e"]) == ("adjusted", "300.5")
            assert public["remaining_ktco2e"] is None
        finally:
            withdrawn = await levers.delete(adjustment, headers=CENTRE | {"If-Match": etag})
            assert withdrawn.status_code == 204, withdrawn.text
        # withdrawn: the official objective applies again (the diagnostic's levers client keeps an upstream
        # answer 5 s, so the distance follows after that; the official case is the test above)
        panorama = await levers.get("/api/v1/panoramas/2024-07-24/regions/24", headers=CENTRE)
        lever = next(row for row in panorama.json()["levers"] if row["lever_id"] == "augm_voitelec")
        assert lever["adjusted"] is None


async def test_the_stats_export_as_xlsx_holds_the_figures_of_the_stats(
    client: httpx.AsyncClient, centre: str, answered: dict[str, str]
) -> None:
    base = f"/api/v1/campaigns/{centre}"
    stats = await client.get(f"{base}/stats", headers=CENTRE)
    assert stats.status_code == 200, stats.text
    body = stats.json()
    workbook = await client.get(f"{base}/stats/export", params={"format": "xlsx"}, headers=CENTRE)
    assert workbook.status_code == 200, workbook.text
    assert workbook.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    assert workbook.headers["content-disposition"].endswith('.xlsx"')
    table = read_xlsx_export(workbook.content)
    assert [header.split(" [", 1)[0] for header in table.headers] == [
        "breakdown", "group", "invited", "started", "submitted", "started_rate", "submitted_rate"
    ]  # fmt: skip
    expected = [("overall", None, body["overall"])]
    expected += [("type", row["type"], row) for row in body["by_type"]]
    expected += [("departement", row["departement"], row) for row in body["by_departement"]]
    assert len(table.rows) == len(expected) == 1 + 5 + 7  # région, département, métropole, CA, CC; 6 + région
    for row, (breakdown, group, counts) in zip(table.rows, expected, strict=True):
        assert (row["breakdown"], row["group"]) == (breakdown, group)
        for field in ("invited", "started", "submitted"):
            assert row[field] == counts[field] and isinstance(row[field], int), (group, field)
        for field in ("started_rate", "submitted_rate"):  # numeric cells, the JSON's exact decimals
            assert isinstance(row[field], int | float), (group, field)
            assert Decimal(str(row[field])) == Decimal(counts[field]), (group, field)
    assert table.rows[0] == {
        "breakdown": "overall",
        "group": None,
        "invited": 86,
        "started": 8,
        "submitted": 7,
        "started_rate": 0.093,
        "submitted_rate": 0.0814,
    }  # fmt: skip  8/86 = 0.0930…, 7/86 = 0.0813953…
    assert table.metadata["title"] == ["Taux de réponse du diagnostic"]
    # the CSV of the same view holds the same figures
    csv = read_csv_export(
        (
            await client.get(
                f"{base}/stats/export", params={"format": "csv", "decimal": "point"}, headers=CENTRE
            )
        ).content
    )
    assert [
        {key: None if value is None else Decimal(str(value)) if key.endswith("_rate") else str(value)
         for key, value in row.items()}
        for row in table.rows
    ] == [
        {key: None if value is None else Decimal(value) if key.endswith("_rate") else value
         for key, value in row.items()}
        for row in csv.rows
    ]  # fmt: skip
    assert_problem(await client.get(f"{base}/stats/export", params={"format": "xlsx"}, headers=READER), 403)


async def test_the_remaining_to_an_objective_entered_in_vehicles_reads_to_four_places(
    client: httpx.AsyncClient, levers_app: FastAPI, centre: str, answered: dict[str, str]
) -> None:
    # An adjusted objective entered in the physical unit: its ktCO2e is derived to 12 places by the levers
    # service (100 thousand vehicles more than 2019: 100 / 0.4677 = 213.81227282446…).
    adjustment = "/api/v1/panoramas/2024-07-24/regions/24/adjustments/augm_voitelec"
    levers = httpx.AsyncClient(transport=httpx.ASGITransport(app=levers_app), base_url="http://levers.test")
    async with levers:
        put = await levers.put(
            adjustment, json={"objective_physical": "104.196", "comment": "SRADDET"}, headers=CENTRE
        )
        assert put.status_code == 201, put.text
        assert put.json()["objective_ktco2e"] == "213.81227282446"
        try:
            read = await client.get(f"{synthesis_url(centre)}/distance", headers=CENTRE)
        finally:
            withdrawn = await levers.delete(adjustment, headers=CENTRE | {"If-Match": put.headers["etag"]})
            assert withdrawn.status_code == 204, withdrawn.text
    figures = read.json()["levers"][0]
    assert figures["objective_basis"] == "adjusted"
    assert figures["adjusted_objective_ktco2e"] == "213.81227282446"  # as the levers service gives it
    assert figures["remaining_ktco2e"] == "213.7695"  # 213.81227282446 − 0.0214 − 0.0214, 4 places
