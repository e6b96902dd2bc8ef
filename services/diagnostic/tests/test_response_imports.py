"""Bulk import of responses from CSV and XLSX: saved as a draft is (the same validation, the same stored
answers), all or nothing with errors by row and column, idempotent, `submit`; who may import."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import httpx
import openpyxl
from fastapi import FastAPI
from sqlalchemy import func, select

from planeco_diagnostic.db import AuditEntry
from planeco_diagnostic.invitations.router import today
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import assert_problem

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

CSV = {"content-type": "text/csv"}
HEADER = "code;name;item;pertinence;mobilisation;needs;quantity;comment;value"
FILE = "\n".join(
    [
        HEADER,
        f"{ORLEANS};Orléans Métropole;flotte-electrique;pertinent;en_cours;financement|ingenierie;12,50;;",
        f"{ORLEANS};;q-freins;;;;;;Le coût",
        f"{ORLEANS};;q-acteurs;;;;;;anah|ademe",
        f"{TOURS};;bus-decarbones;a_discuter;planifie;;;Après 2027;",
        f"{TOURS};;q-budget;;;;;;15000,00",
        "45;Loiret;bus-decarbones;pertinent;realise;;;;",
        "45;;q-mode;;;;;;oui",
    ]
)


def url(campaign_id: str) -> str:
    return f"/api/v1/campaigns/{campaign_id}/responses/imports"


async def response_of(client: httpx.AsyncClient, campaign_id: str, code: str) -> dict[str, Any]:
    read = await client.get(f"/api/v1/campaigns/{campaign_id}/responses/{code}", headers=CENTRE)
    assert read.status_code == 200, read.text
    body: dict[str, Any] = read.json()
    return body


async def response_audits(app: FastAPI) -> int:
    async with runtime_of(app).transaction() as session:
        statement = select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "response")
        return int(await session.scalar(statement) or 0)


async def test_an_import_saves_drafts_as_the_answer_form_does_and_again_changes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    imported = await client.post(url(centre), content=FILE.encode(), headers=CENTRE | CSV)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {
        "rows": 7, "respondents": 3, "created": 3, "updated": 0, "unchanged": 0, "submitted": 0
    }  # fmt: skip
    orleans = await response_of(client, centre, ORLEANS)
    assert orleans["status"] == "draft"
    answer = orleans["answers"]["flotte-electrique"]
    assert answer["quantity"] == "12.5" and answer["lever_quantity"] == "0.0125"  # × 0.001, exact
    assert answer["needs"] == ["ingenierie", "financement"] and answer["lever_id"] == "augm_voitelec"
    assert orleans["answers"]["q-freins"] == "Le coût" and orleans["answers"]["q-acteurs"] == [
        "ademe",
        "anah",
    ]
    tours = await response_of(client, centre, TOURS)
    assert tours["answers"]["q-budget"] == "15000"
    assert tours["answers"]["bus-decarbones"]["comment"] == "Après 2027"
    assert (await response_of(client, centre, "45"))["answers"]["q-mode"] == "oui"
    history = await client.get(f"/api/v1/campaigns/{centre}/responses/{ORLEANS}/history", headers=CENTRE)
    assert history.json()["items"][0]["actor"] == "test:coordinator:24"
    audits = await response_audits(app)
    revision = orleans["revision"]
    again = await client.post(url(centre), content=FILE.encode(), headers=CENTRE | CSV)
    assert again.status_code == 200, again.text
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == (0, 0, 3)
    assert await response_audits(app) == audits  # nothing recorded
    assert (await response_of(client, centre, ORLEANS))["revision"] == revision
    changed = FILE.replace("Le coût", "Le coût et les délais")
    third = await client.post(url(centre), content=changed.encode(), headers=CENTRE | CSV)
    assert (third.json()["updated"], third.json()["unchanged"]) == (1, 2), third.text
    assert await response_audits(app) == audits + 1
    # answers the file does not name are kept
    assert (await response_of(client, centre, ORLEANS))["answers"]["q-acteurs"] == ["ademe", "anah"]


async def test_submit_then_a_resent_file_changes_nothing_and_a_changed_one_is_refused(
    app: FastAPI,
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    submitted = await client.post(
        url(centre), params={"submit": "true"}, content=FILE.encode(), headers=CENTRE | CSV
    )
    assert submitted.status_code == 200, submitted.text
    assert (submitted.json()["created"], submitted.json()["submitted"]) == (3, 3)
    assert (await response_of(client, centre, TOURS))["status"] == "submitted"
    audits = await response_audits(app)
    again = await client.post(
        url(centre), params={"submit": "true"}, content=FILE.encode(), headers=CENTRE | CSV
    )
    assert again.status_code == 200, again.text
    assert (again.json()["unchanged"], again.json()["submitted"]) == (3, 0)
    assert await response_audits(app) == audits
    changed = FILE.replace("Après 2027", "Dès 2026")
    refused = assert_problem(
        await client.post(url(centre), content=changed.encode(), headers=CENTRE | CSV), 422
    )
    assert [e["loc"] for e in refused["errors"]] == [["row", 5, "code"]]
    assert refused["errors"][0]["type"] == "submitted"
    assert (await response_of(client, centre, TOURS))["answers"]["bus-decarbones"]["comment"] == "Après 2027"
    assert await response_audits(app) == audits


async def test_every_row_problem_is_listed_and_nothing_is_saved(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    ccs = await client.get(f"/api/v1/campaigns/{centre}/invitees", params={"type": "cc"}, headers=CENTRE)
    cc = ccs.json()["items"][0]["code"]
    bad = "\n".join(
        [
            HEADER,
            f"{ORLEANS};;flotte-electrique;pertinent;en_cours;;12;;",  # row 2: fine
            "99999;;bus-decarbones;pertinent;;;;;",  # 3: not invited
            f"{ORLEANS};;pas-un-item;pertinent;;;;;",  # 4: unknown item
            f"{ORLEANS};;bus-decarbones;tres_pertinent;;;;;",  # 5: outside the scale
            f"{TOURS};;bus-decarbones;pertinent;;;3;;",  # 6: the item asks for no quantity
            f"{TOURS};;q-freins;pertinent;;;;;",  # 7: a question answered in the action columns
            f"{TOURS};;q-mode;;;;;;oui",  # 8: not for an EPCI
            f"{ORLEANS};;flotte-electrique;pertinent;;;;;",  # 9: the same item twice
            f"{TOURS};;flotte-electrique;;;;-1;;",  # 10: a negative quantity
            f"{TOURS};;q-acteurs;;;;;;ademe|cerema",  # 11: an unknown option
            "45;;bus-decarbones;;;argent;;;",  # 12: an unknown need
            f"{cc};;flotte-electrique;;;;beaucoup;;",  # 13: not a number
        ]
    )
    problem = assert_problem(await client.post(url(centre), content=bad.encode(), headers=CENTRE | CSV), 422)
    found = {(e["loc"][1], e["loc"][2]): e["type"] for e in problem["errors"]}
    assert found == {
        (3, "code"): "not_found",
        (4, "item"): "unknown_item",
        (5, "pertinence"): "enum",
        (6, "quantity"): "no_quantity",
        (7, "pertinence"): "misplaced",
        (7, "value"): "misplaced",
        (8, "item"): "not_for_respondent",
        (9, "item"): "duplicate",
        (10, "quantity"): "greater_than_equal",
        (11, "value"): "unknown_option",
        (12, "needs"): "enum",
        (13, "quantity"): "string_pattern_mismatch",
    }, problem["errors"]
    assert "nothing was changed" in problem["detail"]
    assert (await response_of(client, centre, ORLEANS))["status"] == "not_started"
    header = assert_problem(
        await client.post(url(centre), content=b"code;item;couleur\n45;x;y\n", headers=CENTRE | CSV), 422
    )
    assert header["errors"][0]["loc"] == ["header", 3]


async def test_an_xlsx_file_imports_the_same_and_restores_dropped_zeros(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "data"
    sheet.append(["code", "item", "pertinence", "mobilisation", "quantity", "value"])
    sheet.append([int(ORLEANS), "flotte-electrique", "pertinent", "realise", 7.5, None])
    sheet.append([45, "q-budget", None, None, None, 1200.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    imported = await client.post(
        url(centre), content=buffer.getvalue(), headers=CENTRE | {"content-type": "application/octet-stream"}
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["created"] == 2
    orleans = await response_of(client, centre, ORLEANS)
    assert orleans["answers"]["flotte-electrique"]["quantity"] == "7.5"
    assert (await response_of(client, centre, "45"))["answers"]["q-budget"] == "1200.5"


async def test_who_may_import_and_when(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    one = f"{HEADER}\n45;;bus-decarbones;pertinent;;;;;\n".encode()
    for headers, status in [
        (ADMIN, 200),
        (CENTRE, 200),
        (BRETAGNE, 404),  # another région's campaign
        (LOIRET_COORDINATOR, 403),  # a département's coordinator does not manage its région's campaign
        (CONTRIBUTOR, 403),
        (READER, 403),
        (ANONYMOUS, 401),
    ]:
        answered = await client.post(url(centre), content=one, headers=headers | CSV)
        assert answered.status_code == status, (status, answered.text)
        if status != 200:
            assert_problem(answered, status)
    document = json.loads(SMALL.read_text(encoding="utf-8"))
    questionnaire = await client.post("/api/v1/questionnaires/imports", json=document, headers=ADMIN)
    day = today()
    closed = await client.post(
        "/api/v1/campaigns",
        json={
            "questionnaire_id": questionnaire.json()["id"],
            "owner": {"level": "region", "code": "24"},
            "title": "Diagnostic clos",
            "opening_date": (day - dt.timedelta(days=30)).isoformat(),
            "closing_date": (day - dt.timedelta(days=1)).isoformat(),
            "panorama_version": "2024-07-24",
        },
        headers=CENTRE,
    )
    assert closed.status_code == 201, closed.text
    assert_problem(await client.post(url(closed.json()["id"]), content=one, headers=CENTRE | CSV), 409)
    assert_problem(await client.post(url(centre), content=b"\x00\xff", headers=CENTRE | CSV), 422)
    assert_problem(
        await client.post(url(centre), content=one, headers=CENTRE | {"content-type": "application/json"}),
        415,
    )


async def test_odd_files_are_clear_422s(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    odd = [
        b"",  # empty
        b"code;item\n",  # a header and nothing: fine, nothing to do
        b"code;pertinence\n45;pertinent\n",  # no item column
        f"{HEADER}\n45;;bus-decarbones;;;;;;\n".encode(),  # an action row with no answer: an empty answer
        f"{HEADER}\n45;;q-budget;;;;;;{'9' * 80}\n".encode(),  # too many digits
        f"{HEADER}\n45;;q-budget;;;;;;1e5\n".encode(),
        f"{HEADER}\n{'1' * 12};;q-budget;;;;;;1\n".encode(),  # a code too long
        f"{HEADER}\n45;;q-freins;;;;;;{'x' * 3000}\n".encode(),  # a text too long
        b"PK\x03\x04not really a workbook",
    ]
    statuses = []
    for content in odd:
        answered = await client.post(url(centre), content=content, headers=CENTRE | CSV)
        assert answered.status_code in (200, 422), answered.text
        if answered.status_code == 422:
            assert_problem(answered, 422)
        statuses.append(answered.status_code)
    assert statuses == [422, 200, 422, 200, 422, 422, 422, 422, 422]


async def test_a_file_with_an_export_s_metadata_lines_imports_and_rows_keep_their_numbers(
    client: httpx.AsyncClient,
    centre: str,  # noqa: F811
) -> None:
    metadata = "\ufeff# format: CSV, UTF-8, separator ';', decimal comma\r\n# title: Réponses\r\n"
    good = metadata + f"{HEADER}\r\n45;;q-budget;;;;;;12,5\r\n"
    imported = await client.post(url(centre), content=good.encode(), headers=CENTRE | CSV)
    assert imported.status_code == 200 and imported.json()["created"] == 1, imported.text
    bad = metadata + f"{HEADER}\r\n45;;q-budget;;;;;;douze\r\n"
    problem = assert_problem(await client.post(url(centre), content=bad.encode(), headers=CENTRE | CSV), 422)
    assert problem["errors"][0]["loc"] == ["row", 4, "value"]
