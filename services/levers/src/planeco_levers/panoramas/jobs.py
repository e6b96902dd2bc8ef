"""Jobs of the panoramas module: one SGPE panorama file as a version."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from planeco_levers.panoramas.importer import version_from_filename
from planeco_levers.panoramas.service import describe, import_panorama
from planeco_shared.jobs import JobContext
from planeco_shared.problems import FieldError, UnprocessableEntity


async def import_panorama_job(context: JobContext) -> Mapping[str, int]:
    path = Path(context.arguments["file"])
    version = context.arguments.get("version") or version_from_filename(path.name)
    if version is None:
        raise UnprocessableEntity(
            "give version=YYYY-MM-DD (no date in the file name)",
            errors=[FieldError(loc=["arguments", "version"], msg="missing", type="missing")],
        )
    content = await context.read_file("file")
    async with context.transaction() as session:
        report = await import_panorama(
            session,
            content,
            version=version,
            source_file=path.name,
            principal=context.principal,
            replace=context.arguments.get("replace", "false").lower() in {"1", "true", "yes"},
        )
    context.message = "\n".join(describe(report))
    return {
        f"panoramas_{report.outcome.value}": 1,
        "rows": report.row_count,
        "objectives": report.objective_count,
        "skipped_rows": report.skipped_row_count,
    }
