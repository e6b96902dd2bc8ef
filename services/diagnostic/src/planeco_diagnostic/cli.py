"""`planeco diagnostic …`"""

from __future__ import annotations

import typer

from planeco_diagnostic.jobs import JOBS
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.cli import add_common_commands
from planeco_shared.migrations import service_root_of

app = typer.Typer(help="Diagnostic service: questionnaires, campaigns, responses.", no_args_is_help=True)
add_common_commands(
    app,
    service_root=service_root_of(__file__),
    settings_factory=DiagnosticSettings,
    app_path="planeco_diagnostic.app:create_app",
    jobs=JOBS,
)
