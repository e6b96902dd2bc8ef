"""`planeco gateway …` and `planeco auth …` (API keys of machine clients)."""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from planeco_gateway.apikeys import service as apikeys
from planeco_gateway.grants import service as grants
from planeco_gateway.settings import GatewaySettings
from planeco_shared.cli import add_common_commands, run_async
from planeco_shared.database import create_engine, write_session
from planeco_shared.identity import Role
from planeco_shared.migrations import service_root_of

app = typer.Typer(help="Gateway: the single entry point.", no_args_is_help=True)
add_common_commands(
    app,
    service_root=service_root_of(__file__),
    settings_factory=GatewaySettings,
    app_path="planeco_gateway.app:create_app",
)

auth = typer.Typer(
    help="API keys of machine clients (stored hashed in the gateway's database).", no_args_is_help=True
)
KEY_ROLES = [r.value for r in Role if r is not Role.anonymous]


@auth.command("create-key")
def create_key(
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(KEY_ROLES)}")],
    territory: Annotated[
        str | None,
        typer.Option(
            help="Coordinator: a région (24 or region:24) or a département (departement:45); "
            "contributor: its collectivité's SIREN or INSEE code"
        ),
    ] = None,
    label: Annotated[str, typer.Option(help="Who or what the key is for")] = "cli",
) -> None:
    """Create a key and print it (it is shown only once)."""
    if role not in KEY_ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(KEY_ROLES)}", param_hint="--role")

    async def run() -> apikeys.IssuedKey:
        engine = create_engine(GatewaySettings().database_url)
        try:
            async with write_session(engine) as session:
                return await apikeys.create_key(
                    session,
                    role=Role(role),
                    territory=territory,
                    label=label,
                    created_by=f"cli:{getpass.getuser()}",
                )
        finally:
            await engine.dispose()

    try:
        issued = run_async(run)
    except apikeys.InvalidKeyRequest as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(issued.key)


@auth.command("revoke-key")
def revoke_key(key_id: Annotated[str, typer.Argument(help="The 16-hex-digit id inside the key")]) -> None:
    """Revoke a key (running gateways stop accepting it within their auth cache delay)."""

    async def run() -> bool:
        engine = create_engine(GatewaySettings().database_url)
        try:
            async with write_session(engine) as session:
                return await apikeys.revoke_key(session, key_id)
        finally:
            await engine.dispose()

    if not run_async(run):
        typer.echo(f"no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@auth.command("grant")
def grant_command(
    email: Annotated[str, typer.Option(help="The e-mail the identity provider asserts for the person")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(KEY_ROLES)}")],
    territory: Annotated[
        str | None,
        typer.Option(
            help="Coordinator: a région (24 or region:24) or a département (departement:45); "
            "contributor: its collectivité's SIREN or INSEE code"
        ),
    ] = None,
) -> None:
    """Give a person signing in with ProConnect a role beyond contributing for their own collectivité."""
    if role not in KEY_ROLES:
        raise typer.BadParameter(f"role must be one of {', '.join(KEY_ROLES)}", param_hint="--role")

    async def run() -> None:
        engine = create_engine(GatewaySettings().database_url)
        try:
            async with write_session(engine) as session:
                await grants.grant(
                    session,
                    email=email,
                    role=Role(role),
                    territory=territory,
                    created_by=f"cli:{getpass.getuser()}",
                )
        finally:
            await engine.dispose()

    try:
        run_async(run)
    except grants.InvalidGrantRequest as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"granted {role}{f' on {territory}' if territory else ''} to {grants.normalize_email(email)}")


@auth.command("revoke-grant")
def revoke_grant_command(email: Annotated[str, typer.Option(help="Whose grant to revoke")]) -> None:
    """Return a person to the default rights (running gateways apply it within their auth cache delay)."""

    async def run() -> bool:
        engine = create_engine(GatewaySettings().database_url)
        try:
            async with write_session(engine) as session:
                return await grants.revoke(session, email=email)
        finally:
            await engine.dispose()

    if not run_async(run):
        typer.echo(f"no active grant for {email}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked the grant of {grants.normalize_email(email)}")
