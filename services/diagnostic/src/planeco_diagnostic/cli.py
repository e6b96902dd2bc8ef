"""`planeco diagnostic …`"""

from __future__ import annotations

import typer

from planeco_diagnostic.jobs import JOBS
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_shared.cli import add_common_commands
from planeco_shared.jobs.cli import run_from_cli
from planeco_shared.migrations import service_root_of

app = typer.Typer(help="Diagnostic service: questionnaires, campaigns, responses.", no_args_is_help=True)
add_common_commands(
    app,
    service_root=service_root_of(__file__),
    settings_factory=DiagnosticSettings,
    app_path="planeco_diagnostic.app:create_app",
    jobs=JOBS,
)


@app.command("import-default-questionnaire")
def import_default_questionnaire_command() -> None:
    """Load the default national questionnaire (PLANECO_DIAGNOSTIC_DEFAULT_QUESTIONNAIRE_PATH; idempotent:
    the same file changes nothing, a changed one becomes a new published edition)."""
    run_from_cli(
        JOBS, DiagnosticSettings(), "import-default-questionnaire", failure_prefix="nothing imported"
    )
