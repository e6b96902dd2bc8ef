"""Sub-commands every service offers the same way: migrate, check-migrations, serve."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
import uvicorn

from planeco_shared import migrations
from planeco_shared.jobs.cli import add_job_commands
from planeco_shared.jobs.registry import JobRegistry
from planeco_shared.server import uvicorn_options
from planeco_shared.settings import ServiceSettings

T = TypeVar("T")


def run_async(factory: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(factory())  # type: ignore[arg-type]


def add_common_commands(
    app: typer.Typer,
    *,
    service_root: Path,
    settings_factory: Callable[[], ServiceSettings],
    app_path: str,
    jobs: JobRegistry | None = None,
) -> None:
    """`jobs`: the service's registry adds `run-job`, `jobs` and `scheduler` (planeco_shared.jobs.cli)."""
    if jobs is not None:
        add_job_commands(app, registry=jobs, settings_factory=settings_factory)

    @app.command()
    def migrate() -> None:
        """Apply this service's migrations up to head (on the database its settings name)."""
        migrations.upgrade(service_root, settings_factory().database_url)
        typer.echo("migrated to head")

    @app.command("check-migrations")
    def check_migrations() -> None:
        """Fail if the models and the migration history disagree (`alembic check`)."""
        migrations.check(service_root, settings_factory().database_url)
        typer.echo("no drift")

    @app.command()
    def revision(
        message: Annotated[str, typer.Option("-m", "--message", help="What the revision does")],
    ) -> None:
        """Autogenerate a migration from the models (against a database migrated to head)."""
        migrations.revision(service_root, settings_factory().database_url, message)

    @app.command()
    def serve(
        host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="Port to bind")] = 8000,
        workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    ) -> None:
        """Serve the service with uvicorn (uvloop + httptools; timeouts from the settings)."""
        options = uvicorn_options(settings_factory())
        uvicorn.run(app_path, factory=True, host=host, port=port, workers=workers, **options)
