"""The debate's deliverable as files: a working group's syntheses and proposals, CSV and XLSX, with their
licence and source; scoped as the JSON reads."""

from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook

from planeco_shared.testing import assert_problem, identity_headers

from .permission_matrix import covers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
CHER = identity_headers("coordinator", "departement:18")
ORLEANS = identity_headers("contributor", "45234")
READER = identity_headers("reader")
OCCITANIE = identity_headers("coordinator", "76")
ANONYMOUS = identity_headers("anonymous")
GROUPS = "/api/v1/debates/working-groups"
SYNTHESIS = (
    "Constat partagé : « les pistes cyclables s'arrêtent aux limites communales ».\nSuite ; à voir.\n" * 300
)


def _csv(response: httpx.Response) -> tuple[list[str], list[dict[str, str]]]:
    assert response.status_code == 200, response.text
    text = response.content.decode("utf-8-sig")
    lines = text.splitlines(keepends=True)
    metadata = [line.strip() for line in lines if line.startswith(("#", '"#'))]
    body = "".join(lines[len(metadata) :])
    return metadata, list(csv.DictReader(io.StringIO(body, newline=""), delimiter=";"))


async def _group_with_debate(client: httpx.AsyncClient) -> tuple[str, str, str]:
    body = {
        "owner": {"level": "departement", "code": "45"},
        "name": "Se déplacer",
        "theme": "mobilité",
        "lever_ids": ["augm_vélotc"],
    }
    group = await client.post(GROUPS, json=body, headers=LOIRET)
    group_id = group.json()["id"]
    meeting = await client.post(
        f"{GROUPS}/{group_id}/meetings",
        json={
            "date": "2026-03-12",
            "title": "=SOMME(A1:A9)",
            "synthesis": SYNTHESIS,
            "documents": [{"title": "CR", "url": "https://www.loiret.fr/cr.pdf"}],
        },
        headers=LOIRET,
    )
    assert meeting.status_code == 201, meeting.text
    proposal = await client.post(
        f"{GROUPS}/{group_id}/proposals",
        json={
            "title": "Résorber les discontinuités",
            "lever_ids": ["augm_vélotc", "augm_haies"],
            "meeting_id": meeting.json()["id"],
            "proposer": {"kind": "personne", "name": "Claire Martin", "organisation": "DDT du Loiret"},
        },
        headers=LOIRET,
    )
    assert proposal.status_code == 201, proposal.text
    return group_id, meeting.json()["id"], proposal.json()["id"]


async def test_syntheses_export_as_csv_and_xlsx(client: httpx.AsyncClient) -> None:
    group_id, meeting_id, _proposal_id = await _group_with_debate(client)
    url = f"{GROUPS}/{group_id}/meetings/export"
    response = await client.get(f"{url}?format=csv", headers=ORLEANS)
    metadata, rows = _csv(response)
    assert "attachment" in response.headers["content-disposition"]
    assert f"groupe-{group_id}-syntheses.csv" in response.headers["content-disposition"]
    assert any("Licence Ouverte" in line for line in metadata)
    assert any(line.startswith("# source: planeco actions service") for line in metadata)
    assert [row["meeting_id"] for row in rows] == [meeting_id]
    assert rows[0]["synthesis"] == SYNTHESIS
    assert rows[0]["title"] == "'=SOMME(A1:A9)"  # never a formula
    assert rows[0]["documents"] == "CR <https://www.loiret.fr/cr.pdf>"

    xlsx = await client.get(f"{url}?format=xlsx", headers=ORLEANS)
    assert xlsx.status_code == 200, xlsx.text
    book = load_workbook(io.BytesIO(xlsx.content))
    sheet = book["data"]
    header = [cell.value for cell in sheet[1]]
    row = dict(zip(header, [cell.value for cell in sheet[2]], strict=True))
    assert row["synthesis"] == SYNTHESIS
    assert row["title"] == "=SOMME(A1:A9)" and sheet.cell(2, header.index("title") + 1).data_type == "s"
    assert any("Licence Ouverte" in str(cell.value) for line in book["metadata"].iter_rows() for cell in line)


async def test_proposals_export_and_scope(client: httpx.AsyncClient) -> None:
    group_id, meeting_id, proposal_id = await _group_with_debate(client)
    url = f"{GROUPS}/{group_id}/proposals/export"
    _metadata, rows = _csv(await client.get(f"{url}?format=csv", headers=ADMIN))
    assert rows == [
        {
            "proposal_id": proposal_id,
            "title": "Résorber les discontinuités",
            "description": "",
            "lever_ids": "augm_vélotc|augm_haies",
            "status": "ouverte",
            "proposer": "Claire Martin (DDT du Loiret)",
            "meeting_id": meeting_id,
            "action_id": "",
        }
    ]
    _metadata, none = _csv(await client.get(f"{url}?format=csv&status=promue", headers=ADMIN))
    assert none == []
    assert_problem(await client.get(f"{url}?format=csv", headers=OCCITANIE), 404)
    assert (await client.get(f"{url}?format=csv", headers=ANONYMOUS)).status_code == 401
    assert_problem(await client.get(f"{url}?format=pdf", headers=ADMIN), 422)
    assert_problem(
        await client.get(f"{GROUPS}/{group_id}/meetings/export?format=csv&status=x", headers=ADMIN), 422
    )


@covers(
    "GET /debates/working-groups/{group_id}/meetings/export",
    "GET /debates/working-groups/{group_id}/proposals/export",
)
async def test_who_exports_a_groups_syntheses_and_proposals(client: httpx.AsyncClient) -> None:
    group_id, meeting_id, proposal_id = await _group_with_debate(client)
    # Per caller: the status of both exports, scoped as the JSON reads (the région's participants).
    matrix = {
        "admin": (ADMIN, 200),
        "centre": (CENTRE, 200),
        "loiret": (LOIRET, 200),
        "cher": (CHER, 200),
        "orleans": (ORLEANS, 200),
        "reader": (READER, 200),
        "occitanie": (OCCITANIE, 404),
        "anonymous": (ANONYMOUS, 401),
    }
    for name, (headers, status) in matrix.items():
        for what, item_id in (("meetings", meeting_id), ("proposals", proposal_id)):
            response = await client.get(f"{GROUPS}/{group_id}/{what}/export?format=csv", headers=headers)
            assert response.status_code == status, (name, what, response.text)
            if status == 200:
                _metadata, rows = _csv(response)
                assert [row[f"{what[:-1]}_id"] for row in rows] == [item_id], (name, what)
