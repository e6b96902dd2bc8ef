"""`planeco <svc> run-job NAME`, `planeco <svc> jobs`, `planeco <svc> scheduler`.

Exit codes of a run: 0 succeeded, 1 failed (recorded, with its errors), 2 wrong job name or arguments
(nothing recorded), 75 skipped because another run of the job is in progress (EX_TEMPFAIL: try later).
"""

from __future__ import annotations

import asyncio
import getpass
import signal
from collections.abc import Callable, Mapping
from typing import Annotated

import typer

from planeco_shared.jobs.models import JobOutcome, JobTrigger
from planeco_shared.jobs.registry import JobConfigError, JobRegistry
from planeco_shared.jobs.repository import last_runs
from planeco_shared.jobs.runner import JobResult, run_job
from planeco_shared.jobs.schedule import Scheduler, next_fire
from planeco_shared.logging import configure_logging
from planeco_shared.models import utcnow
from planeco_shared.problems import AppError
from planeco_shared.runtime import ServiceRuntime
from planeco_shared.settings import ServiceSettings

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SKIPPED = 75
EXIT_CODES = {JobOutcome.succeeded: 0, JobOutcome.failed: EXIT_FAILED, JobOutcome.skipped: EXIT_SKIPPED}


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # a container's uid with no passwd entry
        return "cli"


def schedules_or_exit(registry: JobRegistry, settings: ServiceSettings) -> dict[str, str | None]:
    try:
        return registry.schedules(settings.job_schedules)
    except JobConfigError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(EXIT_USAGE) from error


def report(result: JobResult, *, failure_prefix: str | None = None) -> int:
    """Print a run's outcome as an operator reads it; returns the exit code."""
    if result.outcome is JobOutcome.succeeded:
        typer.echo(result.message or f"{result.job} succeeded: {result.counts}")
        for error in result.errors:
            typer.echo(f"  {error.get('item') or result.job}: {error['message']}", err=True)
    else:
        prefix = failure_prefix or f"{result.job} {result.outcome.value}"
        typer.echo(f"{prefix}: {result.message}", err=True)
        for error in result.errors:
            typer.echo(f"  {error.get('item') or result.job}: {error['message']}", err=True)
    typer.echo(f"(run {result.run_id}: {result.outcome.value})", err=True)
    return EXIT_CODES[result.outcome]


def run_from_cli(
    registry: JobRegistry,
    settings: ServiceSettings,
    name: str,
    arguments: Mapping[str, str] | None = None,
    *,
    trigger: JobTrigger = JobTrigger.cli,
    started_by: str | None = None,
    failure_prefix: str | None = None,
) -> None:
    """Run a job to the end, print its outcome, exit with its code (typer.Exit unless it succeeded)."""
    schedules_or_exit(registry, settings)
    configure_logging(level=settings.log_level, json=settings.log_json, service=registry.service)

    async def run() -> JobResult:
        async with ServiceRuntime.open(registry.service, settings) as runtime:
            return await run_job(
                runtime,
                registry,
                name,
                trigger=trigger,
                started_by=started_by or cli_actor(),
                arguments=arguments,
            )

    try:
        result = asyncio.run(run())
    except AppError as error:  # unknown job, wrong arguments: refused before any record
        typer.echo(f"{failure_prefix or 'not run'}: {error.detail}", err=True)
        for item in error.errors or []:
            typer.echo(f"  {' '.join(str(part) for part in item.loc)}: {item.msg}", err=True)
        raise typer.Exit(EXIT_USAGE) from error
    code = report(result, failure_prefix=failure_prefix)
    if code:
        raise typer.Exit(code)


def parse_arguments(pairs: list[str]) -> dict[str, str]:
    arguments = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            typer.echo(f"arguments are NAME=VALUE, not {pair!r}", err=True)
            raise typer.Exit(EXIT_USAGE)
        arguments[name] = value
    return arguments


def add_job_commands(
    app: typer.Typer, *, registry: JobRegistry, settings_factory: Callable[[], ServiceSettings]
) -> None:
    service = registry.service

    @app.command("run-job")
    def run_job_command(
        name: Annotated[str, typer.Argument(help="The job (see `jobs`)")],
        arguments: Annotated[list[str] | None, typer.Argument(help="NAME=VALUE arguments of the job")] = None,
        trigger: Annotated[
            JobTrigger, typer.Option(help="Recorded on the run: `schedule` from a CronJob")
        ] = JobTrigger.cli,
        started_by: Annotated[
            str | None, typer.Option(help="Recorded on the run (default: cli:<user>)")
        ] = None,
    ) -> None:
        """Run one job now and wait for it; recorded in job_runs. Exit 0 succeeded, 1 failed, 2 wrong job or
        arguments, 75 skipped (another run in progress)."""
        run_from_cli(
            registry,
            settings_factory(),
            name,
            parse_arguments(arguments or []),
            trigger=trigger,
            started_by=started_by,
        )

    @app.command("jobs")
    def list_jobs_command() -> None:
        """The service's jobs: schedule in force, next fire time, last run."""
        settings = settings_factory()
        schedules = schedules_or_exit(registry, settings)

        async def read() -> dict[str, str]:
            async with ServiceRuntime.open(service, settings) as runtime, runtime.transaction() as session:
                runs = await last_runs(session, registry.run_model)
            return {
                name: f"{run.outcome} {run.started_at:%Y-%m-%d %H:%M:%S}Z by {run.started_by}"
                for name, run in runs.items()
            }

        last = asyncio.run(read())
        now = utcnow()
        for job in registry:
            schedule = schedules[job.name]
            when = (
                f"{schedule} (next {next_fire(schedule, now):%Y-%m-%d %H:%M}Z)" if schedule else "on demand"
            )
            typer.echo(f"{job.name}: {job.description}")
            typer.echo(f"  schedule: {when}; last run: {last.get(job.name, 'never')}")

    @app.command("scheduler")
    def scheduler_command() -> None:
        """Run the scheduled jobs at their cron times (UTC) until stopped: the local run and docker-compose;
        Kubernetes uses CronJobs instead."""
        settings = settings_factory()
        schedules = schedules_or_exit(registry, settings)
        if not any(schedules.values()):
            typer.echo(f"no job of {service} has a schedule: nothing to do")
            return
        configure_logging(level=settings.log_level, json=settings.log_json, service=service)
        asyncio.run(run_scheduler(registry, settings, schedules))


async def run_scheduler(
    registry: JobRegistry, settings: ServiceSettings, schedules: Mapping[str, str | None]
) -> None:
    """Until SIGTERM/SIGINT: a stop lets the runs in progress finish (their outcome is recorded)."""
    async with ServiceRuntime.open(registry.service, settings) as runtime:

        async def fire(name: str) -> JobResult:
            return await run_job(runtime, registry, name, trigger=JobTrigger.schedule, started_by="scheduler")

        scheduler = Scheduler(schedules, fire)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        for name, moment in sorted(scheduler.next_fires.items()):
            typer.echo(
                f"scheduler: {registry.service}/{name} '{schedules[name]}', next {moment:%Y-%m-%d %H:%M}Z"
            )
        ticking = asyncio.create_task(scheduler.run_forever())
        await stopping.wait()
        ticking.cancel()
        await asyncio.gather(ticking, return_exceptions=True)
        await scheduler.drain()
