"""`run_job`: run one job under its lock and record the run in the service's `job_runs`.

The run record is committed when the run starts (outcome `running`), in a transaction of its own, and the
outcome in another at the end: the job's own work happens in between in its own transactions
(`context.transaction()`), so a failed job's failure and its errors are recorded although its work rolled
back. A run that cannot take the lock is recorded as `skipped` (or, from the API, refused with a 409).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import update

from planeco_shared.jobs.locks import JobLock
from planeco_shared.jobs.models import JobOutcome, JobRunMixin, JobTrigger
from planeco_shared.jobs.registry import Job, JobContext, JobRegistry
from planeco_shared.jobs.repository import latest_running
from planeco_shared.logging import get_logger
from planeco_shared.models import utcnow
from planeco_shared.problems import AppError, Conflict, FieldError, NotFound, UnprocessableEntity
from planeco_shared.request_id import request_id_var

if TYPE_CHECKING:
    from planeco_shared.runtime import ServiceRuntime

logger = get_logger(__name__)
MAX_MESSAGE_LENGTH = 2000


class JobAlreadyRunning(Conflict):
    code = "job-running"


@dataclass(frozen=True, slots=True)
class JobResult:
    run_id: uuid.UUID
    job: str
    outcome: JobOutcome
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    message: str | None = None


def find_job(registry: JobRegistry, name: str) -> Job:
    job = registry.get(name)
    if job is None:
        known = ", ".join(j.name for j in registry) or "none"
        raise NotFound(f"{registry.service} has no job {name!r} (jobs: {known})")
    return job


def check_arguments(job: Job, arguments: Mapping[str, str]) -> None:
    known = {p.name for p in job.parameters}
    errors = [
        FieldError(loc=["arguments", name], msg=f"{job.name} takes no argument {name!r}", type="unknown")
        for name in arguments
        if name not in known
    ] + [
        FieldError(loc=["arguments", p.name], msg=f"required: {p.description}", type="missing")
        for p in job.parameters
        if p.required and p.name not in arguments
    ]
    if errors:
        raise UnprocessableEntity(f"Wrong arguments for job {job.name}", errors=errors)


def new_run(
    model: Callable[..., JobRunMixin],
    run_id: uuid.UUID,
    job: str,
    trigger: JobTrigger,
    started_by: str,
    arguments: Mapping[str, str],
    *,
    outcome: JobOutcome,
    message: str | None = None,
) -> JobRunMixin:
    """A run record; a run that does not go on (`skipped`) is finished when it starts."""
    now = utcnow()
    return model(
        id=run_id,
        job=job,
        trigger=trigger.value,
        started_by=started_by[:200],
        started_at=now,
        finished_at=None if outcome is JobOutcome.running else now,
        outcome=outcome.value,
        arguments=dict(arguments),
        counts={},
        errors=[],
        message=message,
    )


class StartedRun:
    """A run recorded as `running` whose lock is held: `execute()` runs it, records the outcome and
    releases the lock (the API answers 202 between the two)."""

    def __init__(
        self,
        runtime: ServiceRuntime,
        registry: JobRegistry,
        job: Job,
        lock: JobLock,
        run_id: uuid.UUID,
        trigger: JobTrigger,
        arguments: Mapping[str, str],
    ) -> None:
        self.runtime, self.registry, self.job, self.lock = runtime, registry, job, lock
        self.run_id, self.trigger, self.arguments = run_id, trigger, dict(arguments)

    async def execute(self) -> JobResult:
        context = JobContext(
            runtime=self.runtime,
            job=self.job,
            run_id=self.run_id,
            trigger=self.trigger,
            arguments=self.arguments,
        )
        # Audit entries written by the job carry the run id where a request's would carry its request id.
        token = request_id_var.set(f"job-run:{self.run_id}")
        structlog.contextvars.bind_contextvars(job=self.job.name, job_run=str(self.run_id))
        outcome, message = JobOutcome.failed, None
        try:
            try:
                returned = await self.job.function(context)
                for name, value in (returned or {}).items():
                    context.count(name, value)
                outcome, message = JobOutcome.succeeded, context.message
            except AppError as error:
                message = error.detail or error.title
                for item in error.errors or []:
                    context.error(item.msg, item=" ".join(str(part) for part in item.loc), type=item.type)
            except Exception as error:
                # Exception text may hold SQL or paths: the logs get it, the record (read through the API)
                # names the type and the run.
                logger.exception("job failed")
                message = (
                    f"unexpected {type(error).__name__}: see the service's logs for job_run={self.run_id}"
                )
            except asyncio.CancelledError:
                message = "interrupted: the process was stopped during the run"
                raise
            finally:
                await self._record_outcome(context, outcome, message)
        finally:
            await self.lock.release()
            structlog.contextvars.unbind_contextvars("job", "job_run")
            request_id_var.reset(token)
        logger.info("job finished", job=self.job.name, outcome=outcome.value, counts=context.counts)
        return JobResult(self.run_id, self.job.name, outcome, context.counts, context.errors, message)

    async def _record_outcome(self, context: JobContext, outcome: JobOutcome, message: str | None) -> None:
        model = self.registry.run_model
        async with self.runtime.transaction() as session:
            await session.execute(
                update(model)
                .where(model.id == self.run_id)
                .values(
                    outcome=outcome.value,
                    finished_at=utcnow(),
                    counts=context.counts,
                    errors=context.errors,
                    message=(message or "")[:MAX_MESSAGE_LENGTH] or None,
                )
            )


async def begin_run(
    runtime: ServiceRuntime,
    registry: JobRegistry,
    name: str,
    *,
    trigger: JobTrigger,
    started_by: str,
    arguments: Mapping[str, str] | None = None,
) -> StartedRun:
    """Check, take the lock, record the run as `running`. Raises NotFound, UnprocessableEntity (arguments)
    or JobAlreadyRunning."""
    job = find_job(registry, name)
    arguments = dict(arguments or {})
    check_arguments(job, arguments)
    lock = JobLock(runtime.engine, registry.service, job.name)
    if not await lock.acquire():
        raise JobAlreadyRunning(await _already_running_message(runtime, registry, job))
    try:
        run_id = uuid.uuid4()
        model = registry.run_model
        async with runtime.transaction() as session:
            # We hold the lock, so no other run of this job is alive: a `running` record left by a process
            # that died (killed, host lost) is closed here rather than left running forever.
            await session.execute(
                update(model)
                .where(model.job == job.name, model.outcome == JobOutcome.running.value)
                .values(
                    outcome=JobOutcome.failed.value,
                    finished_at=utcnow(),
                    message="interrupted: its process stopped before the run finished",
                )
            )
            session.add(
                new_run(model, run_id, job.name, trigger, started_by, arguments, outcome=JobOutcome.running)
            )
    except BaseException:
        await lock.release()
        raise
    logger.info(
        "job started", job=job.name, job_run=str(run_id), trigger=trigger.value, started_by=started_by
    )
    return StartedRun(runtime, registry, job, lock, run_id, trigger, arguments)


async def _already_running_message(runtime: ServiceRuntime, registry: JobRegistry, job: Job) -> str:
    async with runtime.transaction() as session:
        running: JobRunMixin | None = await latest_running(session, registry.run_model, job.name)
    since = (
        f" (run {running.id}, started by {running.started_by} at {running.started_at.isoformat()})"
        if running is not None
        else ""
    )
    return f"Job {registry.service}/{job.name} is already running{since}"


async def run_job(
    runtime: ServiceRuntime,
    registry: JobRegistry,
    name: str,
    *,
    trigger: JobTrigger,
    started_by: str,
    arguments: Mapping[str, str] | None = None,
) -> JobResult:
    """Run `name` now and wait for it. Another run in progress: recorded as `skipped`, nothing done."""
    try:
        started = await begin_run(
            runtime, registry, name, trigger=trigger, started_by=started_by, arguments=arguments
        )
    except JobAlreadyRunning as refused:
        run_id = uuid.uuid4()
        async with runtime.transaction() as session:
            session.add(
                new_run(
                    registry.run_model,
                    run_id,
                    name,
                    trigger,
                    started_by,
                    arguments or {},
                    outcome=JobOutcome.skipped,
                    message=refused.detail,
                )
            )
        logger.warning("job skipped", job=name, reason=refused.detail)
        return JobResult(run_id, name, JobOutcome.skipped, message=refused.detail)
    return await started.execute()
