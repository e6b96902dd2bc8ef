"""The daily job `purge-idempotency-keys` of diagnostic and actions: it deletes the stored responses of
expired Idempotency-Keys only, and each run is recorded in the service's job_runs (read through its API)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, func, select

from planeco_actions import db as actions_db
from planeco_actions.app import create_app as create_actions
from planeco_actions.jobs import JOBS as ACTIONS_JOBS
from planeco_actions.settings import ActionsSettings
from planeco_diagnostic import db as diagnostic_db
from planeco_diagnostic.app import create_app as create_diagnostic
from planeco_diagnostic.jobs import JOBS as DIAGNOSTIC_JOBS
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.idempotency import PURGE_JOB, PURGE_SCHEDULE
from planeco_shared.jobs import JobOutcome, JobTrigger, run_job
from planeco_shared.models import utcnow
from planeco_shared.runtime import ServiceRuntime
from planeco_shared.testing import TEST_SECRET, identity_headers, running_server

pytestmark = pytest.mark.asyncio(loop_scope="session")

SERVICES = [
    pytest.param("actions", ActionsSettings, ACTIONS_JOBS, actions_db, create_actions, id="actions"),
    pytest.param(
        "diagnostic", DiagnosticSettings, DIAGNOSTIC_JOBS, diagnostic_db, create_diagnostic, id="diagnostic"
    ),
]


def _key(model: Any, subject: str, name: str, expires_at: dt.datetime) -> Any:
    return model(
        subject=subject,
        key=name,
        request_hash="0" * 64,
        status_code=201,
        headers={},
        body="{}",
        expires_at=expires_at,
    )


@pytest.mark.parametrize(("service", "settings_cls", "jobs", "db", "create_app"), SERVICES)
async def test_the_daily_purge_deletes_only_expired_keys_and_is_recorded(
    service: str, settings_cls: Any, jobs: Any, db: Any, create_app: Any, databases: dict[str, str]
) -> None:
    job = jobs.get(PURGE_JOB)
    assert job is not None and job.schedule == PURGE_SCHEDULE and job.runs_unattended
    model = db.IdempotencyKey
    settings = settings_cls(
        database_url=databases[service], internal_secret=TEST_SECRET, environment="test", log_json=False
    )
    subject = f"test:purge:{uuid.uuid4().hex}"
    now = utcnow()
    async with ServiceRuntime.open(service, settings) as runtime:
        try:
            async with runtime.transaction() as session:
                session.add_all(
                    [
                        _key(model, subject, "expired-yesterday", now - dt.timedelta(days=1)),
                        _key(model, subject, "expired-a-second-ago", now - dt.timedelta(seconds=1)),
                        _key(model, subject, "live", now + dt.timedelta(hours=23)),
                        _key(model, subject, "fresh", now + dt.timedelta(hours=24)),
                    ]
                )
            async with runtime.transaction() as session:
                expired_before = await session.scalar(
                    select(func.count()).select_from(model).where(model.expires_at <= utcnow())
                )
            result = await run_job(runtime, jobs, PURGE_JOB, trigger=JobTrigger.cli, started_by="test")
            assert result.outcome is JobOutcome.succeeded, result
            assert result.counts == {"removed": expired_before}
            async with runtime.transaction() as session:
                left = set((await session.scalars(select(model.key).where(model.subject == subject))).all())
                run = await session.get(db.JobRun, result.run_id)
            assert left == {"live", "fresh"}
            assert run is not None
            assert (run.job, run.trigger, run.started_by, run.outcome) == (
                PURGE_JOB,
                "cli",
                "test",
                "succeeded",
            )
            assert run.counts == {"removed": expired_before} and run.finished_at is not None
            # Readable through the service's API, like every job run.
            async with running_server(create_app(settings)) as url, httpx.AsyncClient(base_url=url) as client:
                read = await client.get(
                    f"/api/v1/jobs/{service}/runs/{result.run_id}", headers=identity_headers("admin")
                )
            assert read.status_code == 200, read.text
            assert (read.json()["job"], read.json()["counts"]) == (PURGE_JOB, {"removed": expired_before})
            # A second run finds nothing more to delete.
            again = await run_job(runtime, jobs, PURGE_JOB, trigger=JobTrigger.cli, started_by="test")
            assert again.outcome is JobOutcome.succeeded and again.counts == {"removed": 0}
        finally:  # the session's databases are shared by the suite: leave them as they were
            async with runtime.transaction() as session:
                await session.execute(delete(model).where(model.subject == subject))
                await session.execute(delete(db.JobRun).where(db.JobRun.started_by == "test"))
