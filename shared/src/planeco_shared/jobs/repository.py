"""The SQL of the runs: lists, one run, the last run of each job."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_shared.jobs.models import JobOutcome, JobRunMixin


def runs_statement(
    model: type[JobRunMixin], *, job: str | None = None, outcome: JobOutcome | None = None
) -> Select[Any]:
    """Newest first; the id breaks ties between runs started in the same microsecond."""
    statement = select(model).order_by(model.started_at.desc(), model.id.desc())
    if job is not None:
        statement = statement.where(model.job == job)
    if outcome is not None:
        statement = statement.where(model.outcome == outcome.value)
    return statement


async def get_run(session: AsyncSession, model: type[JobRunMixin], run_id: uuid.UUID) -> JobRunMixin | None:
    return await session.get(model, run_id)


async def latest_running(session: AsyncSession, model: type[JobRunMixin], job: str) -> JobRunMixin | None:
    statement = runs_statement(model, job=job, outcome=JobOutcome.running).limit(1)
    run: JobRunMixin | None = (await session.execute(statement)).scalars().first()
    return run


async def last_runs(session: AsyncSession, model: type[JobRunMixin]) -> dict[str, JobRunMixin]:
    """The latest run of every job that has one (one query: the newest started_at per job)."""
    newest = select(model.job, func.max(model.started_at).label("started_at")).group_by(model.job).subquery()
    statement = (
        select(model)
        .join(newest, (model.job == newest.c.job) & (model.started_at == newest.c.started_at))
        .order_by(model.job, model.id.desc())
    )
    runs: dict[str, JobRunMixin] = {}
    for run in (await session.execute(statement)).scalars():
        runs.setdefault(run.job, run)
    return runs
