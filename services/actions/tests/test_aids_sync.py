"""The Aides-territoires sync (the job `sync-aids`) against the fake server running as its own process, and
the catalogue's reads."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, inspect, select, text

from planeco_actions.aids.models import Aid, AidStaging
from planeco_actions.aids.repository import AidRepository
from planeco_actions.aids.schemas import AidFilters
from planeco_actions.db import AuditEntry
from planeco_actions.jobs import JOBS
from planeco_shared.jobs import JobOutcome, JobResult, JobTrigger, run_job
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import assert_problem, identity_headers

ADMIN = identity_headers("admin", subject="apikey:ops")
READER = identity_headers("reader")
COORDINATOR = identity_headers("coordinator", "24")
AIDS = "/api/v1/aids"


@pytest.fixture(name="app")
def app_on_the_fake(fake_app: FastAPI) -> FastAPI:
    return fake_app


async def sync(app: FastAPI) -> JobResult:
    return await run_job(runtime_of(app), JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="test")


async def catalogue(app: FastAPI) -> dict[int, tuple[str, bool, Any]]:
    """Every aid: (name, is_live, updated_at)."""
    async with runtime_of(app).transaction() as session:
        rows = await session.execute(select(Aid.id, Aid.name, Aid.is_live, Aid.updated_at))
        return {row[0]: (row[1], row[2], row[3]) for row in rows}


async def audit_count(app: FastAPI) -> int:
    async with runtime_of(app).transaction() as session:
        count: int = (
            await session.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.entity_type == "aid")
            )
            or 0
        )
        return count


def counts(result: JobResult, *names: str) -> tuple[int, ...]:
    return tuple(result.counts.get(name, 0) for name in names)


SUMMARY = ("pages", "inserted", "updated", "unchanged", "expired", "rejected")


async def test_the_first_sync_loads_everything_and_a_second_writes_nothing(
    app: FastAPI, client: httpx.AsyncClient, fake: Any
) -> None:
    first = await sync(app)
    assert first.outcome is JobOutcome.succeeded, first.message
    assert counts(first, *SUMMARY) == (3, 230, 0, 0, 0, 0)
    assert first.message == (
        "3 pages, 230 aids read: 230 inserted, 0 updated, 0 unchanged, 0 no longer listed, 0 unreadable; "
        "perimeters: 14 resolved, 2 unresolved, 0 to retry"
    )
    listed = (await client.get(AIDS, params={"page_size": 500}, headers=READER)).json()
    assert listed["total"] == 230
    assert {"id", "name", "categories", "is_live", "synced_at"} <= set(listed["items"][0])
    audits = await audit_count(app)
    assert audits == 230
    async with runtime_of(app).transaction() as session:
        entry = (
            await session.execute(select(AuditEntry).where(AuditEntry.entity_id == "170001"))
        ).scalar_one()
        assert (entry.actor, entry.action, entry.request_id) == (
            "job:actions:sync-aids",
            "create",
            f"job-run:{first.run_id}",
        )
        assert await session.scalar(select(func.count()).select_from(AidStaging)) == 0

    before, version = await catalogue(app), await runtime_of(app).data_version()
    second = await sync(app)
    assert counts(second, *SUMMARY) == (3, 0, 0, 230, 0, 0)
    assert await catalogue(app) == before  # not a row written
    assert await audit_count(app) == audits
    assert await runtime_of(app).data_version() == version  # staging and the run's record are bookkeeping


async def test_records_are_read_defensively_and_descriptions_sanitised(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sync(app)
    aids = (await client.get(AIDS, params={"page_size": 500}, headers=READER)).json()["items"]
    details = [(await client.get(f"{AIDS}/{a['id']}", headers=READER)).json() for a in aids[:40]]
    htmls = [d["description_html"] for d in details if d["description_html"]]
    assert htmls and not any("<script" in h or "onclick" in h or "javascript:" in h for h in htmls)
    assert not any("<font" in h or "style=" in h for h in htmls)
    assert any('rel="noopener noreferrer nofollow"' in h for h in htmls)
    texts = [d["description_text"] for d in details if d["description_html"]]
    assert all("<" not in t and "&nbsp;" not in t and "\xa0" not in t for t in texts)
    # The record with keys missing (the partial real record's shape) is kept with nulls and empty lists.
    partial = (await client.get(f"{AIDS}/170022", headers=READER)).json()  # index 3
    assert (partial["description_html"], partial["description_text"], partial["date_updated"]) == (
        None,
        "",
        None,
    )
    assert partial["categories"] == [] and partial["url"].startswith(
        "https://aides-territoires.beta.gouv.fr/aides/"
    )
    # Gen 1 timestamps (microseconds, +02:00) are read as UTC.
    gen1 = (await client.get(f"{AIDS}/170036", headers=READER)).json()  # index 5
    assert gen1["date_updated"].endswith("Z") or gen1["date_updated"].endswith("+00:00")
    themed = [c for a in aids for c in a["categories"] if c.startswith("Mobilité / transports / ")]
    assert themed  # " / " labels kept whole
    assert_problem(await client.get(f"{AIDS}/1", headers=READER), 404)
    assert_problem(await client.get(f"{AIDS}/99999999999", headers=READER), 422)
    assert_problem(await client.get(AIDS), 401)


async def test_an_upstream_change_updates_exactly_that_aid(app: FastAPI, fake: Any) -> None:
    await sync(app)
    before = await catalogue(app)
    await fake.change(update=[170008])
    result = await sync(app)
    assert counts(result, *SUMMARY) == (3, 0, 1, 229, 0, 0)
    after = await catalogue(app)
    assert [i for i in after if after[i] != before[i]] == [170008]
    assert (
        after[170008][0].startswith(before[170008][0].split(" [")[0]) and "mise à jour 1" in after[170008][0]
    )


async def test_a_removed_aid_becomes_not_live_and_comes_back_if_listed_again(
    app: FastAPI, client: httpx.AsyncClient, fake: Any
) -> None:
    await sync(app)
    await fake.change(remove=[170015])
    result = await sync(app)
    assert counts(result, *SUMMARY) == (3, 0, 0, 229, 1, 0)
    aid = (await client.get(f"{AIDS}/170015", headers=READER)).json()
    assert (aid["is_live"], aid["delisted_at"] is not None) == (False, True)
    live = (await client.get(AIDS, params={"page_size": 500}, headers=READER)).json()
    assert live["total"] == 229 and 170015 not in {a["id"] for a in live["items"]}
    gone = (await client.get(AIDS, params={"live": "false"}, headers=READER)).json()
    assert [a["id"] for a in gone["items"]] == [170015]

    await fake.change(restore=[170015])
    back = await sync(app)
    assert counts(back, "inserted", "updated", "expired") == (0, 1, 0)
    assert (await client.get(f"{AIDS}/170015", headers=READER)).json()["is_live"] is True


async def test_an_interrupted_run_leaves_the_catalogue_as_it_was_and_the_next_completes(
    app: FastAPI, fake: Any
) -> None:
    await sync(app)
    before = await catalogue(app)
    audits = await audit_count(app)
    await fake.change(update=[170001], remove=[170029], add=1)
    await fake.quirks(fail_from_page=2)
    failed = await sync(app)
    assert failed.outcome is JobOutcome.failed
    assert "scan stopped after 1 pages" in str(failed.message)
    assert "HTTP 500 after 3 attempts" in str(failed.message)
    assert "catalogue is unchanged" in str(failed.message)
    assert await catalogue(app) == before
    assert await audit_count(app) == audits
    async with runtime_of(app).transaction() as session:
        assert await session.scalar(select(func.count()).select_from(AidStaging)) == 0

    await fake.quirks(fail_from_page=None)
    completed = await sync(app)
    assert counts(completed, *SUMMARY) == (3, 1, 1, 228, 1, 0)  # 230 listed: one new, one removed
    after = await catalogue(app)
    assert set(after) - set(before) == {171611}
    assert after[170029][1] is False


async def test_tokens_expiring_mid_run_are_renewed_and_5xx_retried(app: FastAPI, fake: Any) -> None:
    await fake.quirks(token_uses=1, error_every=3)
    result = await sync(app)
    assert result.outcome is JobOutcome.succeeded, result.message
    assert counts(result, "inserted", "token_refreshes") == (230, 2)
    assert result.counts["retries"] >= 1
    stats = await fake.stats()
    assert stats.get("x_auth_token_on_data", 0) == 0
    assert result.counts["tokens"] == 3  # the scan's; the perimeters' calls after it take their own
    assert stats["tokens_issued"] == 3 + result.counts["perimeter_tokens"]


async def test_an_unreadable_record_is_reported_not_fatal_and_not_expired(app: FastAPI, fake: Any) -> None:
    await sync(app)
    await fake.quirks(broken=[170050])
    result = await sync(app)
    assert result.outcome is JobOutcome.succeeded
    assert counts(result, "rejected", "expired", "unchanged") == (1, 0, 229)
    [error] = [e for e in result.errors if e["type"] != "unresolved-perimeter"]
    assert error["item"] == "aid 170050" and error["type"] == "unreadable-record"
    assert "name" in error["message"] and "submission_deadline" in error["message"]
    assert (await catalogue(app))[170050][1] is True


async def test_sync_runs_are_recorded_and_an_admin_starts_one(
    app: FastAPI, client: httpx.AsyncClient, fake: Any
) -> None:
    await sync(app)
    runs = (await client.get(f"{AIDS}/sync-runs", headers=READER)).json()
    assert runs["total"] == 1
    run = runs["items"][0]
    assert (run["outcome"], run["pages"], run["inserted"], run["rejected"], run["trigger"]) == (
        "succeeded",
        3,
        230,
        0,
        "cli",
    )
    assert run["finished_at"] is not None and run["counts"]["tokens"] == 1
    assert_problem(await client.post(f"{AIDS}/sync-runs", headers=COORDINATOR), 403)
    started = await client.post(f"{AIDS}/sync-runs", headers=ADMIN)
    assert started.status_code == 202, started.text
    assert started.json()["outcome"] == "running"
    location = started.headers["location"]
    assert location == f"{AIDS}/sync-runs/{started.json()['id']}"
    finished = (await client.get(location, headers=READER)).json()
    assert (finished["outcome"], finished["unchanged"], finished["started_by"]) == (
        "succeeded",
        230,
        "apikey:ops",
    )
    assert_problem(await client.get(f"{AIDS}/sync-runs/{uuid.uuid4()}", headers=READER), 404)
    through_jobs = await client.post("/api/v1/jobs/actions/runs", json={"job": "sync-aids"}, headers=ADMIN)
    assert through_jobs.status_code == 202
    assert (await client.get(f"{AIDS}/sync-runs", headers=READER)).json()["total"] == 3


async def test_the_list_filters_by_words_audience_and_opening_day(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sync(app)

    async def ids(**params: Any) -> set[int]:
        response = await client.get(AIDS, params={"page_size": 500, **params}, headers=READER)
        assert response.status_code == 200, response.text
        return {a["id"] for a in response.json()["items"]}

    async with runtime_of(app).transaction() as session:
        aids = list((await session.execute(select(Aid))).scalars())
    hedges = {a.id for a in aids if "haies" in a.search_text}
    assert hedges and await ids(q="HAIES") == hedges
    # Accents and case ignored both ways: "methanisation" finds « méthanisation ».
    methane = {a.id for a in aids if "methanisation" in a.search_text}
    assert methane and await ids(q="Méthanisation") == await ids(q="methanisation") == methane
    assert await ids(q="haies bocageres") <= hedges
    assert await ids(q="100%_") == set()  # LIKE wildcards are plain characters
    farmers = {a.id for a in aids if "|farmer|" in a.audience_slugs}
    communes = {a.id for a in aids if "|commune|" in a.audience_slugs}
    assert farmers and await ids(audience="farmer") == farmers
    assert await ids(audience=["farmer", "commune"]) == farmers | communes
    day = dt.date(2027, 3, 1)
    open_then = {
        a.id
        for a in aids
        if (a.start_date is None or a.start_date <= day)
        and (a.submission_deadline is None or a.submission_deadline >= day)
    }
    assert 0 < len(open_then) < 230 and await ids(open_on="2027-03-01") == open_then
    by_deadline = (
        await client.get(AIDS, params={"sort": "submission_deadline", "descending": "true"}, headers=READER)
    ).json()["items"]
    deadlines = [a["submission_deadline"] for a in by_deadline if a["submission_deadline"]]
    assert deadlines == sorted(deadlines, reverse=True)
    assert_problem(await client.get(AIDS, params={"audience": "martians"}, headers=READER), 422)
    assert_problem(await client.get(AIDS, params={"q": "a\x00b"}, headers=READER), 422)
    assert_problem(await client.get(AIDS, params={"sort": "raw"}, headers=READER), 422)


async def test_the_word_search_is_served_by_a_trigram_index_on_postgresql_only(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await sync(app)
    async with runtime_of(app).transaction() as session:
        statement = AidRepository(session).list_statement(AidFilters(q="Haies bocagères"))
        if session.bind.dialect.name != "postgresql":
            names = await session.run_sync(
                lambda sync_session: [
                    i["name"] for i in inspect(sync_session.connection()).get_indexes("aids")
                ]
            )
            assert "ix_aids_search_text_trgm" not in names  # SQLite scans the folded text, as before
            return
        # A tiny table: forbid the scans so that the plan shows the index can serve the search's LIKE.
        await session.execute(text("SET LOCAL enable_seqscan = off"))
        like = select(Aid.id).where(Aid.search_text.like("%bocageres%"))
        compiled = like.compile(session.bind, compile_kwargs={"literal_binds": True})
        plan = "\n".join((await session.execute(text(f"EXPLAIN {compiled}"))).scalars())
        found = (await session.execute(statement)).scalars().all()
    assert "ix_aids_search_text_trgm" in plan, plan
    expected = (
        await client.get(AIDS, params={"q": "HAIES BOCAGERES", "page_size": 500}, headers=READER)
    ).json()["items"]
    assert found and {a.id for a in found} == {a["id"] for a in expected}
