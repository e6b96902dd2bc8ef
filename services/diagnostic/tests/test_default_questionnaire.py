"""The import-default-questionnaire job: creates the national questionnaire from the shipped file, does
nothing when the file is unchanged, makes a new edition when it changed; recorded as job runs."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from planeco_diagnostic.db import JobRun
from planeco_diagnostic.jobs import JOBS
from planeco_diagnostic.settings import DEFAULT_QUESTIONNAIRE, DiagnosticSettings
from planeco_shared.jobs import JobOutcome, JobResult, JobTrigger, run_job
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin")
JOB = "import-default-questionnaire"
DATA = (
    Path(__file__).parent / "data"
)  # the app's default_questionnaire_path is DATA / questionnaire-small.json


async def run(app: FastAPI, path: Path | None = None) -> JobResult:
    runtime = runtime_of(app)
    if path is not None:
        assert isinstance(runtime.settings, DiagnosticSettings)
        runtime.settings = runtime.settings.model_copy(update={"default_questionnaire_path": path})
    return await run_job(runtime, JOBS, JOB, trigger=JobTrigger.cli, started_by="test")


async def national(client: httpx.AsyncClient) -> list[dict[str, object]]:
    answer = await client.get("/api/v1/questionnaires", params={"owner_level": "nation"}, headers=ADMIN)
    items: list[dict[str, object]] = answer.json()["items"]
    return sorted(items, key=lambda q: int(str(q["edition"])))


async def test_the_job_is_idempotent_and_a_changed_file_is_a_new_edition(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    first = await run(app)
    assert first.outcome is JobOutcome.succeeded, first
    assert first.counts == {"created": 1, "items": 6}
    [created] = await national(client)
    assert (created["status"], created["source"], created["edition"]) == (
        "published",
        "default-questionnaire",
        1,
    )
    assert created["locked_at"] is not None
    exported = await client.get(f"/api/v1/questionnaires/{created['id']}/document", headers=ADMIN)
    assert exported.json() == json.loads((DATA / "questionnaire-small.json").read_text(encoding="utf-8"))

    again = await run(app)
    assert again.outcome is JobOutcome.succeeded
    assert again.counts == {"unchanged": 1}
    assert await national(client) == [created]

    changed = json.loads((DATA / "questionnaire-small.json").read_text(encoding="utf-8"))
    changed["sections"][0]["items"][0]["label"] = "Électrifier la flotte de véhicules légers"
    path = tmp_path / "questionnaire.json"
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    third = await run(app, path)
    assert third.counts == {"new_edition": 1, "items": 6}
    first_edition, second_edition = await national(client)
    assert first_edition == created
    assert (second_edition["edition"], second_edition["previous_id"], second_edition["lineage_id"]) == (
        2,
        created["id"],
        created["lineage_id"],
    )
    assert second_edition["status"] == "published"
    assert (await run(app, path)).counts == {"unchanged": 1}

    async with runtime_of(app).sessionmaker() as session:
        runs = (await session.execute(select(JobRun).where(JobRun.job == JOB))).scalars().all()
    assert sorted(r.outcome for r in runs) == [JobOutcome.succeeded] * 4


@pytest.mark.parametrize(
    ("mutation", "error"),
    [
        (lambda d: d["sections"][0]["lever_ids"].append("augm_inconnu"), "sections[0].lever_ids[2]"),
        (lambda d: d["sections"][1]["items"][0].pop("options"), "sections[1].items[0].options"),
    ],
)
async def test_a_bad_file_fails_the_run_with_its_errors_and_imports_nothing(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path, mutation: object, error: str
) -> None:
    document = json.loads((DATA / "questionnaire-small.json").read_text(encoding="utf-8"))
    mutation(document)  # type: ignore[operator]
    path = tmp_path / "questionnaire.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = await run(app, path)
    assert result.outcome is JobOutcome.failed
    assert [e["item"] for e in result.errors] == [error]
    assert await national(client) == []


async def test_a_missing_file_fails_the_run(app: FastAPI, client: httpx.AsyncClient, tmp_path: Path) -> None:
    result = await run(app, tmp_path / "absent.json")
    assert result.outcome is JobOutcome.failed
    assert "cannot be read" in (result.message or "")


async def test_the_shipped_default_questionnaire_imports_against_the_real_levers(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """The real file (`data/default-questionnaire/questionnaire.json`, the settings' default path): every
    lever it names exists in the levers service, every quantity's lever has a physical unit."""
    shipped = DiagnosticSettings().default_questionnaire_path
    assert shipped == DEFAULT_QUESTIONNAIRE
    result = await run(app, shipped)
    assert result.outcome is JobOutcome.succeeded, result.errors
    document = json.loads(shipped.read_text(encoding="utf-8"))
    items = sum(len(section["items"]) for section in document["sections"])
    assert result.counts == {"created": 1, "items": items}
    [created] = await national(client)
    assert (created["section_count"], created["item_count"]) == (len(document["sections"]), items)
    exported = await client.get(f"/api/v1/questionnaires/{created['id']}/document", headers=ADMIN)
    again = await client.post("/api/v1/questionnaires/imports", json=exported.json(), headers=ADMIN)
    assert again.status_code == 201, again.text
    assert again.json()["content_hash"] == created["content_hash"]  # the export round-trips
    assert (await run(app, shipped)).counts == {"unchanged": 1}


async def test_an_edition_made_by_hand_is_never_overwritten_by_the_job(
    app: FastAPI, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    assert (await run(app)).counts["created"] == 1
    [shipped] = await national(client)
    by_hand = await client.post(f"/api/v1/questionnaires/{shipped['id']}/editions", headers=ADMIN)
    assert by_hand.status_code == 201 and by_hand.json()["source"] is None
    assert (await run(app)).counts == {"unchanged": 1}  # the shipped file is still edition 1's content

    changed = json.loads((DATA / "questionnaire-small.json").read_text(encoding="utf-8"))
    changed["title"] = "Diagnostic de test, mis à jour"
    path = tmp_path / "questionnaire.json"
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    blocked = await run(app, path)
    assert blocked.outcome is JobOutcome.failed
    assert "draft made by hand" in (blocked.message or "")

    edition = f"/api/v1/questionnaires/{by_hand.json()['id']}"
    published = await client.patch(
        edition, json={"status": "published"}, headers=ADMIN | {"if-match": by_hand.headers["etag"]}
    )
    assert published.status_code == 200, published.text
    loaded = await run(app, path)
    assert loaded.counts == {"new_edition": 1, "items": 6}
    third = (await national(client))[-1]
    assert (third["edition"], third["previous_id"], third["source"]) == (
        3,
        by_hand.json()["id"],
        "default-questionnaire",
    )
    assert third["title"] == "Diagnostic de test, mis à jour"
