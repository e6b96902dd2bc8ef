"""CRTE perimeters uploaded as CSV: all-or-nothing, row-level errors, région scope, idempotence, audit."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from planeco_levers.db import AuditEntry
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
NORMANDIE = identity_headers("coordinator", "28")
ANONYMOUS = identity_headers("anonymous")
IMPORTS = "/api/v1/territories/crtes/imports"

CENTRE_CSV = """crte_id,crte_name,member
crte-45-orleans,CRTE Orléans Métropole,244500468
crte-45-est,CRTE Montargois-Giennois,244500203
crte-45-est,CRTE Montargois-Giennois,244500211
crte-28-dreux,CRTE du Pays de Dreux,200040277
crte-41-blois,CRTE Blois,41018
"""


async def upload(
    client: httpx.AsyncClient,
    csv: str | bytes,
    headers: dict[str, str] = CENTRE,
    media_type: str = "text/csv",
    region: str | None = None,
) -> httpx.Response:
    body = csv.encode() if isinstance(csv, str) else csv
    params = {"region": region} if region is not None else {}
    return await client.post(
        IMPORTS, content=body, params=params, headers=headers | {"content-type": media_type}
    )


async def crte_ids(client: httpx.AsyncClient, region: str | None = None) -> list[str]:
    params = {"region": region} if region else {}
    response = await client.get("/api/v1/territories/crtes", params=params, headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


async def audit_entries(app: FastAPI) -> list[AuditEntry]:
    async with runtime_of(app).sessionmaker() as session:
        statement = (
            select(AuditEntry).where(AuditEntry.entity_type == "crte_set").order_by(AuditEntry.occurred_at)
        )
        return list((await session.execute(statement)).scalars())


def errors_of(response: httpx.Response) -> set[tuple[Any, ...]]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return {(*e["loc"], e["type"]) for e in response.json()["errors"]}


async def test_coordinator_uploads_the_crte_of_their_region(app: FastAPI, client: httpx.AsyncClient) -> None:
    response = await upload(client, CENTRE_CSV)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "regions": ["24"],
        "crte": 4,
        "members": 5,
        "created": ["crte-28-dreux", "crte-41-blois", "crte-45-est", "crte-45-orleans"],
        "updated": [],
        "deleted": [],
        "unchanged": 0,
    }
    assert await crte_ids(client, "24") == [
        "crte-28-dreux",
        "crte-41-blois",
        "crte-45-est",
        "crte-45-orleans",
    ]
    assert await crte_ids(client, "28") == []

    est = (await client.get("/api/v1/territories/crtes/crte-45-est", headers=ANONYMOUS)).json()
    assert est == {
        "id": "crte-45-est",
        "name": "CRTE Montargois-Giennois",
        "region": "24",
        "departement": "45",
        "population": 63093 + 24157,
        "commune_count": 15 + 11,
        "members": [
            {
                "kind": "epci",
                "code": "244500203",
                "name": "CA Montargoise et Rives du Loing (AME)",
                "population": 63093,
            },
            {"kind": "epci", "code": "244500211", "name": "CC Giennoises", "population": 24157},
        ],
    }
    # The Dreux agglomeration reaches into Normandie, but most of its population is in Centre-Val de Loire.
    dreux = (await client.get("/api/v1/territories/crtes/crte-28-dreux", headers=ANONYMOUS)).json()
    assert (dreux["region"], dreux["population"], dreux["commune_count"]) == ("24", 116271, 81)
    blois = (await client.get("/api/v1/territories/crtes/crte-41-blois", headers=ANONYMOUS)).json()
    assert blois["members"] == [{"kind": "commune", "code": "41018", "name": "Blois", "population": 47219}]

    [entry] = await audit_entries(app)
    assert (entry.action, entry.entity_id, entry.actor) == ("import", "24", "test:coordinator:24")
    assert entry.changes["crte-45-orleans"] == {
        "old": None,
        "new": {
            "name": "CRTE Orléans Métropole",
            "region": "24",
            "departement": "45",
            "population": 297350,
            "members": ["244500468"],
        },
    }


async def test_reupload_is_idempotent_and_replaces_the_region_set(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await upload(client, CENTRE_CSV)).status_code == 200
    again = await upload(client, CENTRE_CSV.replace("\n", "\r\n"), media_type="text/csv; charset=utf-8")
    assert again.status_code == 200, again.text
    assert again.json() | {"regions": None} == {
        "regions": None,
        "crte": 4,
        "members": 5,
        "created": [],
        "updated": [],
        "deleted": [],
        "unchanged": 4,
    }
    assert len(await audit_entries(app)) == 1  # nothing changed, nothing audited

    smaller = "\n".join(
        line.replace("CRTE Blois", "CRTE Agglopolys")
        for line in CENTRE_CSV.splitlines()
        if "crte-45-est" not in line
    )
    changed = await upload(client, smaller)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["updated"], changed.json()["deleted"]) == (["crte-41-blois"], ["crte-45-est"])
    assert await crte_ids(client) == ["crte-28-dreux", "crte-41-blois", "crte-45-orleans"]
    missing = await client.get("/api/v1/territories/crtes/crte-45-est", headers=ANONYMOUS)
    assert missing.status_code == 404
    latest = (await audit_entries(app))[-1].changes
    assert set(latest) == {"crte-41-blois", "crte-45-est"}
    assert latest["crte-45-est"]["new"] is None


async def test_row_level_errors_change_nothing(client: httpx.AsyncClient) -> None:
    assert (await upload(client, CENTRE_CSV)).status_code == 200
    bad = """crte_id;crte_name;member
crte-45-orleans;CRTE Orléans Métropole;244500468
crte-45-orleans;CRTE Orleans;244500427
crte-x;CRTE X;999999999
crte-x;CRTE X;200057867
crte-x;CRTE X;244500468
crte-y;CRTE Y;4523
crte y;;45234
crte-z;CRTE\x00Z;41018
"""
    response = await upload(client, bad)
    assert errors_of(response) == {
        ("row", 3, "crte_name", "mismatch"),
        ("row", 4, "member", "unknown_code"),
        ("row", 5, "member", "unknown_code"),
        ("row", 6, "member", "duplicate"),
        ("row", 7, "member", "format"),
        ("row", 8, "crte_id", "format"),
        ("row", 8, "crte_name", "format"),
        ("row", 9, "crte_name", "format"),
    }
    messages = {e["loc"][1]: e["msg"] for e in response.json()["errors"]}
    assert "EPT" in messages[5]
    assert "leading zero" in messages[7]
    assert "row 2" in messages[6]
    assert await crte_ids(client) == ["crte-28-dreux", "crte-41-blois", "crte-45-est", "crte-45-orleans"]


async def test_a_commune_covered_twice_is_rejected(client: httpx.AsyncClient) -> None:
    # Orléans itself, and Orléans Métropole which contains it.
    overlap = "crte_id,crte_name,member\na,A,244500468\nb,B,45234\n"
    assert errors_of(await upload(client, overlap)) == {("row", 3, "member", "overlap")}
    assert await crte_ids(client) == []


async def test_a_commune_covered_by_another_regions_crte_is_rejected(client: httpx.AsyncClient) -> None:
    # CC Interco Normandie Sud Eure lies in Normandie but counts Montigny-sur-Avre (28263, Eure-et-Loir).
    normandie = "crte_id,crte_name,member\ncrte-27-sud-eure,CRTE Sud de l'Eure,200066462\n"
    assert (await upload(client, normandie, headers=NORMANDIE)).status_code == 200
    centre = "crte_id,crte_name,member\ncrte-28-montigny,CRTE Montigny,28263\n"
    assert errors_of(await upload(client, centre)) == {("row", 2, "member", "overlap")}
    same_id = "crte_id,crte_name,member\ncrte-27-sud-eure,CRTE Orléans,244500468\n"
    assert errors_of(await upload(client, same_id)) == {("row", 2, "crte_id", "conflict")}
    assert await crte_ids(client) == ["crte-27-sud-eure"]


async def test_coordinator_of_another_region_is_forbidden(client: httpx.AsyncClient) -> None:
    response = await upload(client, CENTRE_CSV, headers=NORMANDIE)
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "forbidden"
    assert "24" in response.json()["detail"]
    for headers in (identity_headers("contributor", "244500468"), identity_headers("reader")):
        assert (await upload(client, CENTRE_CSV, headers=headers)).status_code == 403
    assert (await upload(client, CENTRE_CSV, headers=ANONYMOUS)).status_code == 401
    assert await crte_ids(client) == []


async def test_admin_uploads_several_regions_at_once(client: httpx.AsyncClient) -> None:
    both = CENTRE_CSV + "crte-27-sud-eure,CRTE Sud de l'Eure,200066462\n"
    response = await upload(client, both, headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["regions"] == ["24", "28"]
    assert await crte_ids(client, "28") == ["crte-27-sud-eure"]


HEADER_ONLY = "crte_id,crte_name,member\n"
SUD_EURE = "crte-27-sud-eure,CRTE Sud de l'Eure,200066462\n"


async def test_a_named_region_can_be_emptied_by_a_header_only_file(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    assert (await upload(client, CENTRE_CSV + SUD_EURE, headers=ADMIN)).status_code == 200
    unnamed = await upload(client, HEADER_ONLY)
    assert ("body", "row", 2, "crte_id", "empty") in {("body", *e) for e in errors_of(unnamed)}
    emptied = await upload(client, HEADER_ONLY, region="24")
    assert emptied.status_code == 200, emptied.text
    assert emptied.json() == {
        "regions": ["24"],
        "crte": 0,
        "members": 0,
        "created": [],
        "updated": [],
        "deleted": ["crte-28-dreux", "crte-41-blois", "crte-45-est", "crte-45-orleans"],
        "unchanged": 0,
    }
    assert await crte_ids(client, "24") == []
    assert await crte_ids(client, "28") == ["crte-27-sud-eure"]  # another région's set is untouched
    entries = await audit_entries(app)
    assert sorted(e.entity_id for e in entries[:2]) == ["24", "28"]  # the admin's upload: one per région
    assert entries[-1].entity_id == "24"
    assert set(entries[-1].changes) == set(emptied.json()["deleted"])
    assert all(change["new"] is None for change in entries[-1].changes.values())
    again = await upload(client, HEADER_ONLY, region="24")
    assert again.json()["deleted"] == [] and len(await audit_entries(app)) == 3  # idempotent


async def test_a_named_region_takes_only_its_own_crte(client: httpx.AsyncClient) -> None:
    assert (await upload(client, CENTRE_CSV, region="24")).status_code == 200
    mixed = await upload(client, CENTRE_CSV + SUD_EURE, headers=ADMIN, region="24")
    assert errors_of(mixed) == {("row", 7, "crte_id", "wrong_region")}
    assert "lies in région 28" in mixed.json()["errors"][0]["msg"]
    assert await crte_ids(client, "28") == []  # nothing changed
    assert (await upload(client, HEADER_ONLY, headers=NORMANDIE, region="24")).status_code == 403
    assert (await upload(client, HEADER_ONLY, headers=CENTRE, region="28")).status_code == 403
    unknown = await upload(client, HEADER_ONLY, headers=ADMIN, region="99")
    assert errors_of(unknown) == {("query", "region", "unknown_code")}
    malformed = await upload(client, HEADER_ONLY, headers=ADMIN, region="2")
    assert malformed.status_code == 422
    assert len(await crte_ids(client, "24")) == 4


async def test_unreadable_uploads_are_problems(client: httpx.AsyncClient) -> None:
    assert (await upload(client, CENTRE_CSV, media_type="application/json")).status_code == 415
    assert errors_of(await upload(client, "crte_id,name,member\na,A,45234\n")) == {
        ("row", 1, "crte_name", "missing_column")
    }
    assert errors_of(await upload(client, CENTRE_CSV.encode("cp1252"))) == {("body", "encoding")}
    assert errors_of(await upload(client, "crte_id,crte_name,member\n\n")) == {("row", 2, "crte_id", "empty")}
    assert errors_of(await upload(client, b"")) == {
        ("row", 1, column, "missing_column") for column in ("crte_id", "crte_name", "member")
    }
    bom = await upload(client, "\ufeffCRTE_ID , Crte_Name,MEMBER,extra\ncrte-41-blois,CRTE Blois,41018,x\n")
    assert bom.status_code == 200, bom.text


async def test_crte_upload_refuses_other_media_types(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/territories/crtes/imports",
        content=b'{"crte": []}',
        headers=identity_headers("admin") | {"content-type": "application/json"},
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported-media-type"


async def test_every_member_lies_in_the_region_of_its_crte(client: httpx.AsyncClient) -> None:
    """A région's file cannot take another région's EPCI or commune into one of its CRTE (the majority
    of the population, Orléans Métropole's, would otherwise place the CRTE in 24 and let it through)."""
    toulouse = "crte-45-orleans,CRTE Orléans Métropole,243100518\n"  # Toulouse Métropole, région 76
    lot = "crte-45-orleans,CRTE Orléans Métropole,244600573\n"  # CC du Causse de Labastide Murat (76)
    cahors = "crte-45-orleans,CRTE Orléans Métropole,46042\n"  # commune of Cahors (76)
    for extra in (toulouse, lot + cahors):
        for region in ("24", None):  # without ?region=, the CRTE's région is its majority's
            refused = await upload(client, CENTRE_CSV + extra, region=region)
            assert {error[-1] for error in errors_of(refused)} == {"wrong_region"}, refused.text
    refused = await upload(client, CENTRE_CSV + lot + cahors, region="24")
    assert errors_of(refused) == {("row", 7, "member", "wrong_region"), ("row", 8, "member", "wrong_region")}
    assert [e["msg"] for e in refused.json()["errors"]] == [
        "EPCI 244600573 lies in région 76, not in région 24 of CRTE crte-45-orleans",
        "commune 46042 lies in région 76, not in région 24 of CRTE crte-45-orleans",
    ]
    assert await crte_ids(client) == []  # nothing imported
    # Région 76 can still use them.
    occitanie = identity_headers("coordinator", "76")
    own = "crte_id,crte_name,member\ncrte-31-toulouse,CRTE Toulouse Métropole,243100518\n"
    assert (await upload(client, own, headers=occitanie, region="76")).status_code == 200


async def test_an_epci_spanning_two_regions_may_belong_to_a_crte_of_either(client: httpx.AsyncClient) -> None:
    # CC du Pays Houdanais: 26 345 inhabitants in Île-de-France (11), 4 103 in Centre-Val de Loire (24).
    houdan = "crte-28-chartres,CRTE Chartres,200033181\ncrte-28-chartres,CRTE Chartres,247800550\n"
    header = "crte_id,crte_name,member\n"
    assert (await upload(client, header + houdan, region="24")).status_code == 200
    assert (await crte_ids(client, "24")) == ["crte-28-chartres"]
