"""`planeco levers …`"""

from __future__ import annotations

import typer
from planeco_shared.cli import add_common_commands, run_async
from planeco_shared.database import create_engine, create_sessionmaker
from planeco_shared.migrations import service_root_of

from planeco_levers.settings import LeversSettings
from planeco_levers.territories.importer import import_territories

app = typer.Typer(help="Levers service: territories, levers, panoramas.", no_args_is_help=True)
add_common_commands(
    app,
    service_root=service_root_of(__file__),
    settings_factory=LeversSettings,
    app_path="planeco_levers.app:create_app",
)


@app.command("import-territories")
def import_territories_command() -> None:
    """Load the INSEE COG 2026 shipped with the service (idempotent)."""

    async def run() -> str:
        settings = LeversSettings()
        engine = create_engine(settings.database_url)
        try:
            async with create_sessionmaker(engine).begin() as session:
                report = await import_territories(session)
        finally:
            await engine.dispose()
        return f"{report.regions} régions, {report.departements} départements"

    typer.echo(f"imported {run_async(run)}")
