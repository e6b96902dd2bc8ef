"""Jobs of the territories module: the INSEE COG shipped with the service, a CRTE file."""

from __future__ import annotations

from collections.abc import Mapping

from planeco_levers.territories.crte_import import import_crte_csv
from planeco_levers.territories.importer import ImportReport, import_territories
from planeco_shared.jobs import JobContext


def territories_counts(report: ImportReport) -> dict[str, int]:
    return {
        "regions": report.regions,
        "departements": report.departements,
        "epcis": report.epcis,
        "epts": report.epts,
        "communes": report.communes,
        "deleted": report.deleted,
        "crte_members_dropped": report.crte_members_dropped,
    }


def describe_territories(report: ImportReport) -> str:
    return (
        f"{report.regions} régions, {report.departements} départements, {report.epcis} EPCI, "
        f"{report.epts} EPT, {report.communes} communes (population {report.population:,}); "
        f"{report.deleted} vanished rows deleted, {report.crte_members_dropped} CRTE members dropped"
    )


async def import_territories_job(context: JobContext) -> Mapping[str, int]:
    async with context.transaction() as session:
        report = await import_territories(session)
    context.message = f"imported {describe_territories(report)}"
    return territories_counts(report)


async def import_crte_job(context: JobContext) -> Mapping[str, int]:
    content = await context.read_file("file")
    async with context.transaction() as session:
        report = await import_crte_csv(session, content, principal=context.principal)
    context.message = (
        f"imported {report.crte} CRTE ({report.members} members) for région(s) {', '.join(report.regions)}: "
        f"{len(report.created)} created, {len(report.updated)} updated, {len(report.deleted)} deleted, "
        f"{report.unchanged} unchanged"
    )
    return {
        "crte": report.crte,
        "members": report.members,
        "created": len(report.created),
        "updated": len(report.updated),
        "deleted": len(report.deleted),
        "unchanged": report.unchanged,
    }
