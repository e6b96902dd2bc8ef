"""`planeco`: one entry point, a sub-command group per service."""

from __future__ import annotations

import typer

from planeco import contract, devstack
from planeco_actions.cli import app as actions_app
from planeco_diagnostic.cli import app as diagnostic_app
from planeco_gateway.cli import app as gateway_app
from planeco_gateway.cli import auth as auth_app
from planeco_levers.cli import app as levers_app

app = typer.Typer(help="planeco: backend of the regional COP (ecological planning).", no_args_is_help=True)
app.add_typer(levers_app, name="levers")
app.add_typer(diagnostic_app, name="diagnostic")
app.add_typer(actions_app, name="actions")
app.add_typer(gateway_app, name="gateway")
app.add_typer(auth_app, name="auth")
app.add_typer(contract.app, name="openapi")
app.add_typer(devstack.app, name="dev")
