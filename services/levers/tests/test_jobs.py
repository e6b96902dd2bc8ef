"""The levers jobs through the API (/api/v1/jobs/levers: list, filter, read, start; admin only; 409 while
running) and the command line (run-job and the import commands, recorded, with meaningful exit codes)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from planeco_levers.app import create_app
from planeco_levers.cli import app as cli
from planeco_levers.db import AuditEntry, JobRun
from planeco_levers.settings import LeversSettings
from planeco_shared.database import create_engine
from planeco_shared.jobs import JobConfigError
from planeco_shared.jobs.locks import JobLock
from planeco_shared.migrations import service_root_of, upgrade
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

ADMIN = identity_headers("admin", subject="apikey:ops")
JOBS = "/api/v1/jobs/levers"

CRTE_CSV = "crte_id,crte_name,member\ncrte-45-orleans,CRTE Orléans Métropole,244500468\n"
BAD_CRTE_CSV = "crte_id,crte_name,member\ncrte-45-orleans,CRTE Orléans,999999999\n"


def problem(response: httpx.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = response.json()
    return body


async def test_an_admin_starts_a_run_and_follows_it(client: httpx.AsyncClient) -> None:
    started = await client.post(f"{JOBS}/runs", json={"job": "reference-data"}, headers=ADMIN)
    assert started.status_code == 202, started.text
    run = started.json()
    assert started.headers["location"] == f"{JOBS}/runs/{run['id']}"
    assert (run["job"], run["trigger"], run["started_by"], run["outcome"]) == (
        "reference-data",
        "api",
        "apikey:ops",
        "running",
    )
    # The run goes on in the background once the answer is sent; in-process, it ends before the client
    # gets the answer back.
    finished = (await client.get(started.headers["location"], headers=ADMIN)).json()
    assert finished["outcome"] == "succeeded", finished
    assert finished["counts"]["communes"] == 34875
    assert finished["counts"]["panoramas_unchanged"] == 3  # idempotent: loaded by the session fixture
    assert finished["finished_at"] is not None
    assert "territories: 18 régions" in finished["message"]

    listed = (await client.get(JOBS, headers=ADMIN)).json()["items"]
    assert [job["name"] for job in listed] == [
        "reference-data",
        "import-territories",
        "import-panorama",
        "import-crte",
    ]
    reference = listed[0]
    assert reference["schedule"] == "17 3 * * *"
    assert reference["next_run_at"] is not None
    assert reference["last_run"]["id"] == run["id"]
    crte = listed[3]
    assert (crte["schedule"], crte["next_run_at"]) == (None, None)
    assert crte["parameters"] == [
        {
            "name": "file",
            "description": "path of the file to import, as the process sees it",
            "required": True,
        }
    ]


async def test_runs_are_listed_newest_first_and_filtered(client: httpx.AsyncClient) -> None:
    first = (await client.post(f"{JOBS}/runs", json={"job": "import-territories"}, headers=ADMIN)).json()
    second = (await client.post(f"{JOBS}/runs", json={"job": "import-territories"}, headers=ADMIN)).json()
    page = (await client.get(f"{JOBS}/runs", params={"job": "import-territories"}, headers=ADMIN)).json()
    assert [item["id"] for item in page["items"]][:2] == [second["id"], first["id"]]
    assert page["total"] >= 2
    assert {item["job"] for item in page["items"]} == {"import-territories"}
    succeeded = (
        await client.get(f"{JOBS}/runs", params={"outcome": "succeeded", "page_size": 1}, headers=ADMIN)
    ).json()
    assert succeeded["page_size"] == 1
    assert len(succeeded["items"]) == 1
    assert succeeded["items"][0]["outcome"] == "succeeded"
    none = (await client.get(f"{JOBS}/runs", params={"outcome": "skipped"}, headers=ADMIN)).json()
    assert none == {"items": [], "total": 0, "page": 1, "page_size": 50}
    problem(await client.get(f"{JOBS}/runs", params={"outcome": "done"}, headers=ADMIN), 422)
    problem(await client.get(f"{JOBS}/runs/{uuid.uuid4()}", headers=ADMIN), 404)


async def test_a_second_start_while_a_run_is_in_progress_is_a_409(
    client: httpx.AsyncClient, engine: AsyncEngine
) -> None:
    other_replica = JobLock(engine, "levers", "import-territories")
    assert await other_replica.acquire()
    try:
        refused = problem(
            await client.post(f"{JOBS}/runs", json={"job": "import-territories"}, headers=ADMIN), 409
        )
        assert refused["code"] == "job-running"
        assert "levers/import-territories is already running" in str(refused["detail"])
    finally:
        await other_replica.release()
    assert (
        await client.post(f"{JOBS}/runs", json={"job": "import-territories"}, headers=ADMIN)
    ).status_code == 202


async def test_jobs_are_for_admins_only(client: httpx.AsyncClient) -> None:
    coordinator = identity_headers("coordinator", "24")
    for method, path in (("GET", JOBS), ("GET", f"{JOBS}/runs"), ("POST", f"{JOBS}/runs")):
        problem(await client.request(method, path, headers=coordinator), 403)
        problem(await client.request(method, path, headers=identity_headers("reader")), 403)
        problem(await client.request(method, path, headers=identity_headers("anonymous")), 401)
        problem(await client.request(method, path), 401)  # not through the gateway


async def test_unknown_jobs_and_jobs_that_need_arguments_cannot_be_started(client: httpx.AsyncClient) -> None:
    assert "nope" in str(
        problem(await client.post(f"{JOBS}/runs", json={"job": "nope"}, headers=ADMIN), 404)["detail"]
    )
    needs_file = problem(await client.post(f"{JOBS}/runs", json={"job": "import-crte"}, headers=ADMIN), 422)
    assert needs_file["errors"] == [
        {
            "loc": ["arguments", "file"],
            "msg": "required: path of the file to import, as the process sees it",
            "type": "missing",
        }
    ]


async def test_a_job_writes_as_its_principal_and_its_audit_entries_name_the_run(
    client: httpx.AsyncClient, app: FastAPI, tmp_path: Path
) -> None:
    """Through run_job directly (the API cannot pass a file): the CRTE import's audit entries."""
    from planeco_levers.jobs import JOBS as REGISTRY
    from planeco_shared.jobs import JobTrigger, run_job

    csv = tmp_path / "crte.csv"
    csv.write_text(CRTE_CSV, encoding="utf-8")
    runtime = runtime_of(app)
    result = await run_job(
        runtime,
        REGISTRY,
        "import-crte",
        trigger=JobTrigger.cli,
        started_by="cli:ops",
        arguments={"file": str(csv)},
    )
    assert result.outcome.value == "succeeded", result
    async with runtime.transaction() as session:
        entries = (
            (
                await session.execute(
                    select(AuditEntry).where(AuditEntry.request_id == f"job-run:{result.run_id}")
                )
            )
            .scalars()
            .all()
        )
    assert entries
    assert {(e.actor, e.actor_role) for e in entries} == {("job:levers:import-crte", "admin")}


def test_a_bad_schedule_setting_stops_the_app_from_starting() -> None:
    with pytest.raises(JobConfigError, match="job reference-data: 'every night' is not a cron schedule"):
        create_app(LeversSettings(job_schedules={"reference-data": "every night"}))
    with pytest.raises(JobConfigError, match="'sync' is not a job of levers"):
        create_app(LeversSettings(job_schedules={"sync": "0 3 * * *"}))
    create_app(LeversSettings(job_schedules={"reference-data": ""}))  # "" disables


# --- the command line ------------------------------------------------------------------------------------


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(service_root_of(__file__.replace("/tests/", "/src/planeco_levers/")), url)
    monkeypatch.setenv("PLANECO_LEVERS_DATABASE_URL", url)
    return url


def stored_runs(url: str) -> list[JobRun]:
    async def read() -> list[JobRun]:
        engine = create_engine(url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(select(JobRun).order_by(JobRun.started_at))
                return [JobRun(**row._mapping) for row in rows]
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_run_job_exit_codes_and_records(cli_database: str, tmp_path: Path) -> None:
    runner = CliRunner()
    ran = runner.invoke(cli, ["run-job", "import-territories"])
    assert ran.exit_code == 0, ran.output
    assert "imported 18 régions, 101 départements" in ran.output

    unknown = runner.invoke(cli, ["run-job", "nope"])
    assert unknown.exit_code == 2
    assert "levers has no job 'nope'" in unknown.output
    missing = runner.invoke(cli, ["run-job", "import-crte"])
    assert missing.exit_code == 2
    assert "arguments file: required" in missing.output
    assert runner.invoke(cli, ["run-job", "import-crte", "file"]).exit_code == 2  # not NAME=VALUE

    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CRTE_CSV, encoding="utf-8")
    failed = runner.invoke(cli, ["import-crte", str(bad)])
    assert failed.exit_code == 1
    assert "nothing imported" in failed.output

    async def hold() -> JobLock:
        lock = JobLock(create_engine(cli_database), "levers", "import-territories")
        assert await lock.acquire()
        return lock

    lock = asyncio.run(hold())  # SQLite: the in-process lock and the flock, loop-independent
    try:
        skipped = runner.invoke(cli, ["run-job", "import-territories", "--trigger", "schedule"])
    finally:
        asyncio.run(lock.release())
    assert skipped.exit_code == 75
    assert "already running" in skipped.output

    runs = stored_runs(cli_database)
    assert [(r.job, r.trigger, r.outcome) for r in runs] == [
        ("import-territories", "cli", "succeeded"),
        ("import-crte", "cli", "failed"),
        ("import-territories", "schedule", "skipped"),
    ]
    assert runs[0].counts["communes"] == 34875
    assert runs[1].arguments == {"file": str(bad)}
    assert runs[1].errors
    assert all(r.started_by.startswith("cli") for r in runs)

    listed = runner.invoke(cli, ["jobs"])
    assert listed.exit_code == 0
    assert "reference-data: Load the INSEE COG" in listed.output
    assert "schedule: 17 3 * * *" in listed.output
    assert "last run: skipped" in listed.output


def test_the_scheduler_command_announces_its_schedules_and_stops_on_sigterm(cli_database: str) -> None:
    import os
    import signal
    import subprocess
    import sys

    command = [sys.executable, "-c", "from planeco_levers.cli import app; app()", "scheduler"]
    env = os.environ | {"PLANECO_LEVERS_JOB_SCHEDULES": '{"import-territories": "0 4 * * 1"}'}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline().strip() for _ in range(2)]
        assert lines[0].startswith("scheduler: levers/import-territories '0 4 * * 1', next ")
        assert lines[1].startswith("scheduler: levers/reference-data '17 3 * * *', next ")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    disabled = CliRunner().invoke(
        cli, ["scheduler"], env={"PLANECO_LEVERS_JOB_SCHEDULES": '{"reference-data": ""}'}
    )
    assert disabled.exit_code == 0
    assert "no job of levers has a schedule" in disabled.output
    bad = CliRunner().invoke(
        cli, ["scheduler"], env={"PLANECO_LEVERS_JOB_SCHEDULES": '{"nope": "* * * * *"}'}
    )
    assert bad.exit_code == 2
    assert "'nope' is not a job of levers" in bad.output
