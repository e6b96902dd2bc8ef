"""Jobs: named async functions a service runs on a schedule or on demand, declared in one place per
service (`planeco_<svc>/jobs.py`), run the same way by the CLI, the scheduler loop, Kubernetes CronJobs
and the API (`planeco_shared.jobs.runner.run_job`)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_shared.identity import AuthMethod, Principal, Role
from planeco_shared.jobs.models import JobRunMixin, JobTrigger
from planeco_shared.jobs.schedule import parse_schedule
from planeco_shared.problems import FieldError, UnprocessableEntity

if TYPE_CHECKING:
    from planeco_shared.runtime import ServiceRuntime

# Kebab-case: the name appears in URLs, CLI arguments and CronJob names.
JOB_NAME = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
# A run keeps this many item-level errors; the rest are only counted (`errors_not_kept`): a file with a
# million bad rows must not make a million-entry JSON column.
MAX_KEPT_ERRORS = 200


def job_principal(service: str, job: str) -> Principal:
    """Who the audit trail names for a job's writes.

    Admin within its own service: a job does what an administrator would do by hand (load reference data,
    sync a catalogue for every région), and no territory scope fits a national import. It never leaves the
    service: calls to other services go through the runtime's clients, as the service principal (a reader).
    Who *started* the run (an operator, the scheduler, an API caller) is on the run record."""
    return Principal(
        subject=f"job:{service}:{job}",
        role=Role.admin,
        name=f"planeco-{service} job {job}",
        method=AuthMethod.service,
    )


class JobContext:
    """What a job function gets: the runtime, its principal, the run id, its arguments, and where to put
    counts and item-level errors (recorded on the run, even when the job fails)."""

    def __init__(
        self,
        *,
        runtime: ServiceRuntime,
        job: Job,
        run_id: uuid.UUID,
        trigger: JobTrigger,
        arguments: Mapping[str, str],
    ) -> None:
        self.runtime = runtime
        self.job = job
        self.run_id = run_id
        self.trigger = trigger
        self.arguments = dict(arguments)
        self.principal = job_principal(runtime.service, job.name)
        self.counts: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []
        self.message: str | None = None

    def transaction(self) -> AbstractAsyncContextManager[AsyncSession]:
        """The job's own work, committed on success, rolled back when it raises."""
        return self.runtime.transaction()

    def count(self, name: str, value: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def error(self, message: str, *, item: str | None = None, type: str | None = None) -> None:
        """An item-level error (a row, an aid, an e-mail): the job goes on; kept up to MAX_KEPT_ERRORS."""
        self.count("errors")
        if len(self.errors) >= MAX_KEPT_ERRORS:
            self.count("errors_not_kept")
            return
        self.errors.append({"item": item, "message": message, "type": type})

    async def read_file(self, argument: str) -> bytes:
        """The content of the file an argument names (read off the event loop); a missing or unreadable
        file fails the run with a 422-style error naming the argument."""
        path = Path(self.arguments[argument])
        try:
            return await asyncio.to_thread(path.read_bytes)
        except OSError as error:
            raise UnprocessableEntity(
                f"Cannot read {path}: {error.strerror}",
                errors=[FieldError(loc=["arguments", argument], msg="cannot read the file", type="file")],
            ) from error


# Counts the job returns are added to those it recorded with `context.count`.
JobFunction = Callable[[JobContext], Awaitable[Mapping[str, int] | None]]


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    description: str
    required: bool = False


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    description: str
    function: JobFunction
    # Default cron expression (5 fields, UTC), overridden per environment by the `job_schedules` setting;
    # None: run on demand only.
    schedule: str | None = None
    # Arguments it accepts (strings, given on the CLI as NAME=VALUE). A job with a required parameter
    # cannot be scheduled or started from the API.
    parameters: Sequence[Parameter] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not JOB_NAME.match(self.name):
            raise ValueError(f"job name {self.name!r} is not kebab-case")
        if self.schedule is not None:
            parse_schedule(self.schedule, where=f"job {self.name}")

    @property
    def runs_unattended(self) -> bool:
        return not any(p.required for p in self.parameters)


class JobConfigError(ValueError):
    """A schedule setting that names an unknown job or is not a cron expression: refused at start-up."""


class JobRegistry:
    """A service's jobs and its JobRun model. Declared once, in `planeco_<svc>/jobs.py`."""

    def __init__(self, service: str, run_model: type[JobRunMixin], jobs: Iterable[Job]) -> None:
        self.service = service
        self.run_model = run_model
        self._jobs: dict[str, Job] = {}
        for job in jobs:
            if job.name in self._jobs:
                raise ValueError(f"two jobs named {job.name!r} in {service}")
            if job.schedule is not None and not job.runs_unattended:
                raise ValueError(f"job {job.name!r} has a required parameter: it cannot have a schedule")
            self._jobs[job.name] = job

    def __iter__(self) -> Any:
        return iter(self._jobs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._jobs

    def get(self, name: str) -> Job | None:
        return self._jobs.get(name)

    def schedules(self, overrides: Mapping[str, str]) -> dict[str, str | None]:
        """Each job's effective schedule: the setting when given ("" disables), else the job's default.
        Raises JobConfigError naming every bad entry."""
        problems = []
        for name, expression in overrides.items():
            job = self._jobs.get(name)
            if job is None:
                known = ", ".join(sorted(self._jobs)) or "none"
                problems.append(f"{name!r} is not a job of {self.service} (jobs: {known})")
                continue
            if expression.strip() and not job.runs_unattended:
                problems.append(f"{name!r} needs arguments: it cannot be scheduled")
                continue
            try:
                parse_schedule(expression, where=f"job {name}") if expression.strip() else None
            except ValueError as error:
                problems.append(str(error))
        if problems:
            raise JobConfigError(f"{self.service} job_schedules: " + "; ".join(problems))
        return {
            job.name: (overrides[job.name].strip() or None) if job.name in overrides else job.schedule
            for job in self
        }
