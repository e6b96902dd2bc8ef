"""`planeco actions …`"""

from __future__ import annotations

import typer

from planeco_actions.aids.fake.run import serve as serve_fake_aides_territoires
from planeco_actions.jobs import JOBS
from planeco_actions.settings import ActionsSettings
from planeco_shared.cli import add_common_commands
from planeco_shared.jobs.cli import run_from_cli
from planeco_shared.migrations import service_root_of

app = typer.Typer(help="Actions service: COP actions, roadmaps, aids.", no_args_is_help=True)
add_common_commands(
    app,
    service_root=service_root_of(__file__),
    settings_factory=ActionsSettings,
    app_path="planeco_actions.app:create_app",
    jobs=JOBS,
)

# The fake Aides-territoires (tests, the local run): GENERATED data, never a real catalogue.
app.command("fake-aides-territoires")(serve_fake_aides_territoires)


@app.command("sync-aides")
def sync_aides() -> None:
    """Sync the aids catalogue with Aides-territoires now (the job `sync-aids`, recorded in job_runs).
    Exit 0 succeeded, 1 failed (the catalogue unchanged), 75 skipped (another run in progress)."""
    run_from_cli(JOBS, ActionsSettings(), "sync-aids")
