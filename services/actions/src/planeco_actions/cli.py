"""`planeco actions …`"""

from __future__ import annotations

import typer

from planeco_actions.aids.fake.run import serve as serve_fake_aides_territoires
from planeco_actions.jobs import JOBS
from planeco_actions.settings import ActionsSettings
from planeco_shared.cli import add_common_commands
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
