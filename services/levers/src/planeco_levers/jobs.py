"""The levers service's jobs (planeco_shared.jobs), run by `planeco levers run-job NAME`, the import
commands, the scheduler loop, the Kubernetes CronJob and POST /api/v1/jobs/levers/runs (body {"job": …})."""

from __future__ import annotations

from collections.abc import Mapping

from planeco_levers.db import JobRun
from planeco_levers.panoramas.jobs import import_panorama_job
from planeco_levers.panoramas.service import import_shipped_panoramas
from planeco_levers.territories.importer import import_territories
from planeco_levers.territories.jobs import (
    describe_territories,
    import_crte_job,
    import_territories_job,
    territories_counts,
)
from planeco_shared.jobs import Job, JobContext, JobRegistry, Parameter


async def reference_data_job(context: JobContext) -> Mapping[str, int]:
    """The COG and every shipped panorama in one transaction: all or nothing, and a no-op when the
    database already holds what the image ships."""
    async with context.transaction() as session:
        territories = await import_territories(session)
        panoramas = await import_shipped_panoramas(session, principal=context.principal)
    for report in panoramas:
        context.count(f"panoramas_{report.outcome.value}")
    context.message = f"territories: {describe_territories(territories)}; " + ", ".join(
        f"panorama {p.version} {p.outcome.value}" for p in panoramas
    )
    return territories_counts(territories)


FILE = Parameter("file", "path of the file to import, as the process sees it", required=True)

JOBS = JobRegistry(
    "levers",
    JobRun,
    [
        Job(
            "reference-data",
            "Load the INSEE COG 2026 and the SGPE panoramas shipped in the image (idempotent)",
            reference_data_job,
            # Daily: a no-op while the data is current; after an image upgrade it loads what the new
            # image ships even if the deploy's migration Job was skipped.
            schedule="17 3 * * *",
        ),
        Job(
            "import-territories",
            "Load the INSEE COG 2026 shipped with the service (upserts, deletes what vanished)",
            import_territories_job,
        ),
        Job(
            "import-panorama",
            "Import one SGPE panorama file as a version (all or nothing; the same content again: no change)",
            import_panorama_job,
            parameters=(
                FILE,
                Parameter("version", "release date YYYY-MM-DD (default: the date in the file name)"),
                Parameter("replace", "true: overwrite a version imported with other content"),
            ),
        ),
        Job(
            "import-crte",
            "Replace the CRTE sets of the régions a CSV file (crte_id,crte_name,member) covers",
            import_crte_job,
            parameters=(FILE,),
        ),
    ],
)
