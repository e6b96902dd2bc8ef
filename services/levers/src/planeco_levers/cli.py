"""`planeco levers …`: the common commands, the jobs (`run-job`, `jobs`, `scheduler`), and the import
commands, which run their job (planeco_levers.jobs) so that each import is recorded in job_runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planeco_levers.jobs import JOBS
from planeco_levers.panoramas.importer import version_from_filename
from planeco_levers.settings import LeversSettings
from planeco_shared.cli import add_common_commands
from planeco_shared.jobs.cli import EXIT_USAGE, run_from_cli
from planeco_shared.migrations import service_root_of

app = typer.Typer(help="Levers service: territories, levers, panoramas.", no_args_is_help=True)
add_common_commands(
    app,
    service_root=service_root_of(__file__),
    settings_factory=LeversSettings,
    app_path="planeco_levers.app:create_app",
    jobs=JOBS,
)

NOTHING_IMPORTED = "nothing imported"


@app.command("import-territories")
def import_territories_command() -> None:
    """Load the INSEE COG 2026 shipped with the service (idempotent: upserts, deletes what vanished)."""
    run_from_cli(JOBS, LeversSettings(), "import-territories", failure_prefix=NOTHING_IMPORTED)


@app.command("import-crte")
def import_crte_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: crte_id,crte_name,member")],
) -> None:
    """Replace the CRTE sets of the régions FILE covers (rules of POST /territories/crtes/imports)."""
    run_from_cli(JOBS, LeversSettings(), "import-crte", {"file": str(file)}, failure_prefix=NOTHING_IMPORTED)


@app.command("import-panorama")
def import_panorama_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An SGPE panorama file (JSON)")],
    version: Annotated[
        str | None,
        typer.Option(help="Version id: the release date YYYY-MM-DD (default: the date in the file name)"),
    ] = None,
    replace: Annotated[bool, typer.Option(help="Overwrite a version imported with other content")] = False,
) -> None:
    """Import one SGPE panorama file as a version: all or nothing; the same content again changes nothing."""
    version = version or version_from_filename(file.name)
    if version is None:
        typer.echo(f"{NOTHING_IMPORTED}: give --version YYYY-MM-DD (no date in the file name)", err=True)
        raise typer.Exit(EXIT_USAGE)
    arguments = {"file": str(file), "version": version, "replace": str(replace).lower()}
    run_from_cli(JOBS, LeversSettings(), "import-panorama", arguments, failure_prefix=NOTHING_IMPORTED)
