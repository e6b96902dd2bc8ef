"""Questionnaire documents: import and export, validation with JSON paths, levers checked against the
levers service, the lock and the editions, the published JSON Schema, and who may do what."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx

from planeco_diagnostic.questionnaires.document import document_json_schema
from planeco_shared.testing import assert_problem, identity_headers

ADMIN = identity_headers("admin")
CENTRE = identity_headers("coordinator", "24")
LOIRET = identity_headers("coordinator", "departement:45")
CHER = identity_headers("coordinator", "departement:18")
BRETAGNE = identity_headers("coordinator", "53")
CONTRIBUTOR = identity_headers("contributor", "200000172")
READER = identity_headers("reader")
ANONYMOUS = identity_headers("anonymous")

URL = "/api/v1/questionnaires"
SMALL = Path(__file__).parent / "data" / "questionnaire-small.json"
SCHEMA_COPY = Path(__file__).resolve().parents[3] / "contract" / "questionnaire-document.schema.json"


def small() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(SMALL.read_text(encoding="utf-8"))
    return document


async def imported(
    client: httpx.AsyncClient, headers: dict[str, str], document: dict[str, Any] | None = None, **owner: str
) -> httpx.Response:
    return await client.post(f"{URL}/imports", params=owner, headers=headers, json=document or small())


async def test_import_then_export_round_trips_exactly(client: httpx.AsyncClient) -> None:
    created = await imported(client, CENTRE, owner_level="region", owner_code="24")
    assert created.status_code == 201, created.text
    read = created.json()
    assert read["owner"] == {"level": "region", "code": "24"}
    assert (read["status"], read["locked_at"], read["edition"]) == ("draft", None, 1)
    assert (read["section_count"], read["item_count"]) == (2, 6)
    exported = await client.get(f"{URL}/{read['id']}/document", headers=READER)
    assert exported.status_code == 200
    assert exported.json() == small()  # the file writes every field: the export is the same JSON
    assert exported.headers["etag"] == created.headers["etag"]
    again = await imported(client, ADMIN, exported.json())
    assert again.json()["content_hash"] == read["content_hash"]
    assert (await client.get(f"{URL}/{again.json()['id']}/document", headers=ADMIN)).json() == small()


async def test_omitted_optional_fields_are_written_out_with_their_defaults(client: httpx.AsyncClient) -> None:
    document = {
        "format": "planeco-questionnaire/1",
        "title": "Questionnaire minimal",
        "respondent_types": ["epci"],
        "sections": [
            {
                "key": "haies",
                "title": "Haies",
                "lever_ids": ["augm_haies"],
                "items": [{"key": "planter-haies", "kind": "action", "label": "Planter des haies"}],
            }
        ],
    }
    created = await imported(client, ADMIN, document)
    assert created.status_code == 201, created.text
    exported = (await client.get(f"{URL}/{created.json()['id']}/document", headers=ADMIN)).json()
    assert exported["description"] == ""
    assert exported["sections"][0]["description"] == ""
    assert exported["sections"][0]["items"] == [
        {
            "key": "planter-haies",
            "kind": "action",
            "label": "Planter des haies",
            "help": "",
            "lever_ids": None,
            "respondent_types": None,
            "quantity": None,
        }
    ]
    assert (await imported(client, ADMIN, exported)).json()["content_hash"] == created.json()["content_hash"]


def locs(response: httpx.Response) -> list[tuple[tuple[str | int, ...], str]]:
    problem = assert_problem(response, 422)
    return [(tuple(e["loc"]), e["type"]) for e in problem["errors"]]


async def test_every_structural_error_is_listed_with_its_json_path(client: httpx.AsyncClient) -> None:
    document = small()
    items = document["sections"][0]["items"]
    del items[0]["quantity"]["unit"]  # a quantity without a unit
    items[1]["kind"] = "checklist"  # an unknown kind
    items[2]["options"] = [{"key": "a", "label": "A"}]  # a field of another kind
    del document["sections"][1]["items"][0]["options"]  # a choice without options
    items[3]["respondent_types"] = ["association"]  # an unknown respondent type
    response = await imported(client, ADMIN, document)
    assert locs(response) == [
        (("body", "sections", 0, "items", 0, "quantity", "unit"), "missing"),
        (("body", "sections", 0, "items", 1, "kind"), "union_tag_invalid"),
        (("body", "sections", 0, "items", 2, "options"), "extra_forbidden"),
        (("body", "sections", 0, "items", 3, "respondent_types", 0), "enum"),
        (("body", "sections", 1, "items", 0, "options"), "missing"),
    ]
    assert (await client.get(URL, headers=ADMIN)).json()["total"] == 0  # nothing saved


async def test_every_rule_error_is_listed_with_its_json_path(client: httpx.AsyncClient) -> None:
    document = small()
    document["respondent_types"] = ["epci", "commune"]
    first, second = document["sections"]
    second["key"] = "mobilite-vehicules"  # a section key used twice
    first["items"][3]["key"] = "flotte-electrique"  # an item key used twice
    first["items"][3]["minimum"], first["items"][3]["maximum"] = "10", "2"  # bounds inverted
    first["items"][1]["lever_ids"] = ["reduc_rfioul"]  # not one of its section's levers
    first["items"][1]["quantity"] = {"label": "Bus", "unit": "bus", "lever_unit_factor": "0", "maximum": "0"}
    first["items"][0]["lever_ids"] = None  # a quantity on two levers
    second["items"][0]["respondent_types"] = ["region"]  # not one of the document's
    second["items"][1]["options"][2]["key"] = "ademe"  # an option twice
    response = await imported(client, ADMIN, document)
    item = ("body", "sections", 0, "items")
    assert locs(response) == [
        ((*item, 0, "quantity"), "quantity_one_lever"),
        ((*item, 1, "lever_ids", 0), "not_in_section"),
        ((*item, 1, "quantity", "lever_unit_factor"), "greater_than"),
        ((*item, 1, "quantity", "maximum"), "greater_than"),
        ((*item, 3, "key"), "duplicate_key"),
        ((*item, 3, "maximum"), "bounds_inverted"),
        (("body", "sections", 1, "key"), "duplicate_key"),
        (("body", "sections", 1, "items", 0, "respondent_types", 0), "not_in_document"),
        (("body", "sections", 1, "items", 1, "options", 2), "duplicate"),
    ]
    messages = [e["msg"] for e in response.json()["errors"]]
    assert "The key 'flotte-electrique' is already used by sections[0].items[0]" in messages


async def test_unknown_levers_are_named_at_every_path(client: httpx.AsyncClient) -> None:
    document = small()
    document["sections"][0]["lever_ids"] = ["augm_voitelec", "augm_teleportation"]
    document["sections"][0]["items"][1]["lever_ids"] = ["augm_teleportation"]
    document["sections"][1]["lever_ids"] = ["co2_enr"]  # a lever with no physical unit…
    document["sections"][1]["items"][0] = {
        "key": "panneaux",
        "kind": "action",
        "label": "Installer des panneaux solaires",
        "quantity": {"label": "Puissance installée", "unit": "kWc", "lever_unit_factor": "1"},
    }  # …cannot take a quantity
    response = await imported(client, ADMIN, document)
    assert locs(response) == [
        (("body", "sections", 0, "lever_ids", 1), "not_found"),
        (("body", "sections", 0, "items", 1, "lever_ids", 0), "not_found"),
        (("body", "sections", 1, "items", 0, "quantity"), "no_physical_unit"),
    ]
    assert "augm_teleportation" in response.json()["errors"][0]["msg"]


async def test_malformed_bodies_are_clear_problems(client: httpx.AsyncClient) -> None:
    duplicate = b'{"format": "planeco-questionnaire/1", "title": "Un", "title": "Deux"}'
    answer = await client.post(
        f"{URL}/imports", content=duplicate, headers=ADMIN | {"content-type": "application/json"}
    )
    assert locs(answer) == [(("body",), "json_duplicate_key")]
    assert "'title' twice" in answer.json()["errors"][0]["msg"]
    broken = await client.post(
        f"{URL}/imports", content=b"{", headers=ADMIN | {"content-type": "application/json"}
    )
    assert locs(broken) == [(("body",), "json_invalid")]
    wrong_format = small() | {"format": "planeco-questionnaire/2"}
    assert locs(await imported(client, ADMIN, wrong_format)) == [(("body", "format"), "literal_error")]
    assert_problem(
        await client.post(f"{URL}/imports", content=b"x", headers=ADMIN | {"content-type": "text/csv"}), 415
    )
    half = await imported(client, ADMIN, owner_level="region")
    assert locs(half) == [(("query", "owner_code"), "missing")]
    unknown = await imported(client, ADMIN, owner_level="departement", owner_code="99")
    assert locs(unknown) == [(("query", "owner", "code"), "not_found")]


async def test_a_draft_is_edited_then_locked_by_publication_and_a_new_edition_is_a_copy(
    client: httpx.AsyncClient,
) -> None:
    created = await imported(client, CENTRE, owner_level="region", owner_code="24")
    url, first_etag = f"{URL}/{created.json()['id']}", created.headers["etag"]
    changed = small()
    changed["title"] = "Diagnostic de test, deuxième version"
    changed["sections"].pop()
    assert_problem(await client.put(f"{url}/document", headers=CENTRE, json=changed), 428)
    edited = await client.put(f"{url}/document", headers=CENTRE | {"if-match": first_etag}, json=changed)
    assert edited.status_code == 200, edited.text
    assert (edited.json()["title"], edited.json()["section_count"]) == (changed["title"], 1)
    stale = await client.put(f"{url}/document", headers=CENTRE | {"if-match": first_etag}, json=small())
    assert_problem(stale, 412)
    invalid = small()
    invalid["sections"][0]["lever_ids"] = []
    refused = await client.put(
        f"{url}/document", headers=CENTRE | {"if-match": edited.headers["etag"]}, json=invalid
    )
    assert locs(refused) == [(("body", "sections", 0, "lever_ids"), "too_short")]
    assert (await client.get(f"{url}/document", headers=CENTRE)).json() == changed

    published = await client.patch(
        url, json={"status": "published"}, headers=CENTRE | {"if-match": edited.headers["etag"]}
    )
    assert published.status_code == 200, published.text
    assert published.json()["locked_at"] is not None
    locked = published.headers["etag"]
    for attempt in (
        client.put(f"{url}/document", headers=CENTRE | {"if-match": locked}, json=small()),
        client.patch(url, json={"title": "Autre titre"}, headers=CENTRE | {"if-match": locked}),
        client.patch(url, json={"status": "draft"}, headers=CENTRE | {"if-match": locked}),
    ):
        problem = assert_problem(await attempt, 409)
        assert problem["code"] == "questionnaire-locked"
        assert "new edition" in problem["detail"]
    assert (await client.get(f"{url}/document", headers=CENTRE)).json() == changed

    edition = await client.post(f"{url}/editions", headers=CENTRE)
    assert edition.status_code == 201, edition.text
    second = edition.json()
    assert edition.headers["location"] == f"{URL}/{second['id']}"
    assert (second["edition"], second["previous_id"], second["lineage_id"]) == (
        2,
        created.json()["id"],
        created.json()["id"],
    )
    assert (second["status"], second["locked_at"], second["content_hash"]) == (
        "draft",
        None,
        published.json()["content_hash"],
    )
    assert (await client.get(f"{URL}/{second['id']}/document", headers=CENTRE)).json() == changed
    assert_problem(await client.post(f"{url}/editions", headers=CENTRE), 409)  # not the latest any more
    draft = assert_problem(await client.post(f"{URL}/{second['id']}/editions", headers=CENTRE), 409)
    assert draft["code"] == "questionnaire-not-locked"
    lineage = await client.get(URL, params={"lineage_id": second["lineage_id"]}, headers=READER)
    assert sorted(q["edition"] for q in lineage.json()["items"]) == [1, 2]
    retired = await client.patch(url, json={"status": "archived"}, headers=CENTRE | {"if-match": locked})
    assert retired.status_code == 200 and retired.json()["status"] == "archived"


async def test_the_document_schema_is_public_and_its_checked_in_copy_is_in_sync(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(f"{URL}/document-schema", headers=ANONYMOUS)
    assert answer.status_code == 200
    assert answer.json() == document_json_schema()
    checked_in = json.loads(SCHEMA_COPY.read_text(encoding="utf-8"))
    assert checked_in == document_json_schema(), (
        "contract/questionnaire-document.schema.json is stale: `planeco openapi export` writes it"
    )


async def test_the_schema_accepts_the_shipped_examples(client: httpx.AsyncClient) -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(document_json_schema())
    assert list(validator.iter_errors(small())) == []
    bad = copy.deepcopy(small())
    bad["sections"][0]["items"][0]["kind"] = "checklist"
    assert list(validator.iter_errors(bad))


async def test_permission_matrix(client: httpx.AsyncClient) -> None:
    """Each write, for a questionnaire of the Loiret (département 45, in the Centre-Val de Loire), by each
    kind of caller; reads by any authenticated caller."""
    callers = {
        "admin": ADMIN,
        "coordinator of the région": CENTRE,
        "coordinator of the département": LOIRET,
        "coordinator of another département": CHER,
        "coordinator elsewhere": BRETAGNE,
        "contributor": CONTRIBUTOR,
        "reader": READER,
        "anonymous": ANONYMOUS,
    }
    allowed = {"admin", "coordinator of the région", "coordinator of the département"}

    def expected(name: str, success: int) -> int:
        if name == "anonymous":
            return 401
        if name in ("contributor", "reader"):
            return 403  # not a manager at all
        return success if name in allowed else 403

    for name, headers in callers.items():
        created = await imported(client, headers, owner_level="departement", owner_code="45")
        assert created.status_code == expected(name, 201), (name, created.text)
    owned = (await imported(client, ADMIN, owner_level="departement", owner_code="45")).json()
    url = f"{URL}/{owned['id']}"
    for name, headers in callers.items():
        read = await client.get(url, headers=headers)
        document = await client.get(f"{url}/document", headers=headers)
        listed = await client.get(URL, headers=headers)
        want = 401 if name == "anonymous" else 200
        assert (read.status_code, document.status_code, listed.status_code) == (want,) * 3, name
    for name, headers in callers.items():
        current = (await client.get(url, headers=ADMIN)).headers["etag"]
        changed = small() | {"title": f"Questionnaire du Loiret ({name})"}
        put = await client.put(f"{url}/document", headers=headers | {"if-match": current}, json=changed)
        assert put.status_code == expected(name, 200), (name, put.text)
    for name, headers in callers.items():
        current = (await client.get(url, headers=ADMIN)).headers["etag"]
        patch = await client.patch(url, json={"description": name}, headers=headers | {"if-match": current})
        assert patch.status_code == expected(name, 200), (name, patch.text)
    current = (await client.get(url, headers=ADMIN)).headers["etag"]
    await client.patch(url, json={"status": "published"}, headers=ADMIN | {"if-match": current})
    for name, headers in callers.items():
        edition = await client.post(f"{URL}/{owned['id']}/editions", headers=headers)
        assert edition.status_code == expected(name, 201), (name, edition.text)
        if edition.status_code == 201:  # the next caller makes one from the latest
            owned = edition.json()
            current = (await client.get(f"{URL}/{owned['id']}", headers=ADMIN)).headers["etag"]
            body_ = {"status": "published"}
            await client.patch(f"{URL}/{owned['id']}", json=body_, headers=ADMIN | {"if-match": current})
    # A national questionnaire: admins only.
    for name, headers in callers.items():
        national = await imported(client, headers)
        assert national.status_code == (201 if name == "admin" else expected(name, 403)), name
