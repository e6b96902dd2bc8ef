"""`planeco levers …`"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from planeco_levers.panoramas.importer import version_from_filename
from planeco_levers.panoramas.service import describe, import_panorama
from planeco_levers.settings import LeversSettings
from planeco_levers.territories.crte_import import import_crte_csv
from planeco_levers.territories.importer import import_territories
from planeco_shared.cli import add_common_commands, run_async
from planeco_shared.identity import AuthMethod, Principal, Role
from planeco_shared.migrations import service_root_of
from planeco_shared.problems import AppError
from planeco_shared.runtime import ServiceRuntime

# Who the audit trail names for imports run from the command line (an operator with shell access).
CLI_PRINCIPAL = Principal(subject="cli:planeco-levers", role=Role.admin, method=AuthMethod.api_key)

app = typer.Typer(help="Levers service: territories, levers, panoramas.", no_args_is_help=True)
add_common_commands(
    app,
    service_root=service_root_of(__file__),
    settings_factory=LeversSettings,
    app_path="planeco_levers.app:create_app",
)


@app.command("import-territories")
def import_territories_command() -> None:
    """Load the INSEE COG 2026 shipped with the service (idempotent: upserts, deletes what vanished)."""

    async def run() -> str:
        started = time.perf_counter()
        async with (
            ServiceRuntime.open("levers", LeversSettings()) as runtime,
            runtime.transaction() as session,
        ):
            report = await import_territories(session)
        return (
            f"{report.regions} régions, {report.departements} départements, {report.epcis} EPCI, "
            f"{report.epts} EPT, {report.communes} communes (population {report.population:,}); "
            f"{report.deleted} vanished rows deleted, {report.crte_members_dropped} CRTE members dropped "
            f"in {time.perf_counter() - started:.1f} s"
        )

    typer.echo(f"imported {run_async(run)}")


@app.command("import-crte")
def import_crte_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV: crte_id,crte_name,member")],
) -> None:
    """Replace the CRTE sets of the régions FILE covers (rules of POST /territories/crtes/imports)."""
    content = file.read_bytes()

    async def run() -> str:
        started = time.perf_counter()
        async with (
            ServiceRuntime.open("levers", LeversSettings()) as runtime,
            runtime.transaction() as session,
        ):
            report = await import_crte_csv(session, content, principal=CLI_PRINCIPAL)
        return (
            f"{report.crte} CRTE ({report.members} members) for région(s) {', '.join(report.regions)}: "
            f"{len(report.created)} created, {len(report.updated)} updated, {len(report.deleted)} deleted, "
            f"{report.unchanged} unchanged in {time.perf_counter() - started:.1f} s"
        )

    try:
        typer.echo(f"imported {run_async(run)}")
    except AppError as error:
        typer.echo(f"nothing imported: {error.detail}", err=True)
        for item in error.errors or []:
            typer.echo(f"  {' '.join(str(part) for part in item.loc)}: {item.msg}", err=True)
        raise typer.Exit(1) from error


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
        typer.echo("nothing imported: give --version YYYY-MM-DD (no date in the file name)", err=True)
        raise typer.Exit(2)
    content = file.read_bytes()

    async def run() -> list[str]:
        started = time.perf_counter()
        async with (
            ServiceRuntime.open("levers", LeversSettings()) as runtime,
            runtime.transaction() as session,
        ):
            report = await import_panorama(
                session,
                content,
                version=version,
                source_file=file.name,
                principal=CLI_PRINCIPAL,
                replace=replace,
            )
        lines = describe(report)
        lines[0] += f" in {time.perf_counter() - started:.2f} s"
        return lines

    try:
        lines = run_async(run)
    except AppError as error:
        typer.echo(f"nothing imported: {error.detail}", err=True)
        for item in error.errors or []:
            typer.echo(f"  {' '.join(str(part) for part in item.loc)}: {item.msg}", err=True)
        raise typer.Exit(1) from error
    for line in lines:
        typer.echo(line)
