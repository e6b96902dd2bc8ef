"""`planeco dev up`: the whole stack on this machine, one process per service, gateway on :8000."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from planeco_levers.territories.importer import import_territories
from planeco_shared.database import create_engine, create_sessionmaker
from planeco_shared.migrations import upgrade
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]

app = typer.Typer(help="Run the stack locally.", no_args_is_help=True)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    app_path: str

    @property
    def env_prefix(self) -> str:
        return f"PLANECO_{self.name.upper()}_"

    @property
    def root(self) -> Path:
        return REPO / "services" / self.name


SERVICES = (
    ServiceSpec("levers", 8001, "planeco_levers.app:create_app"),
    ServiceSpec("diagnostic", 8002, "planeco_diagnostic.app:create_app"),
    ServiceSpec("actions", 8003, "planeco_actions.app:create_app"),
    ServiceSpec("gateway", 8000, "planeco_gateway.app:create_app"),
)


def database_urls(postgres: str | None, data_dir: Path) -> dict[str, str]:
    """Each service its own database.

    PostgreSQL `planeco_<service>` when a server URL is given, else SQLite files under `data_dir`."""
    urls = {}
    for spec in SERVICES:
        configured = os.environ.get(f"{spec.env_prefix}DATABASE_URL")
        if configured:
            urls[spec.name] = configured
        elif postgres:
            urls[spec.name] = (
                make_url(postgres).set(database=f"planeco_{spec.name}").render_as_string(hide_password=False)
            )
        else:
            urls[spec.name] = f"sqlite+aiosqlite:///{data_dir / spec.name}.db"
    return urls


async def ensure_postgres_databases(urls: dict[str, str]) -> None:
    import asyncpg  # type: ignore[import-untyped]

    for url in urls.values():
        parsed = make_url(url)
        if not parsed.drivername.startswith("postgresql"):
            continue
        admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
        connection = await asyncpg.connect(admin)
        try:
            exists = await connection.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
            )
            if not exists:
                await connection.execute(f'CREATE DATABASE "{parsed.database}"')
        finally:
            await connection.close()


async def load_reference_data(levers_url: str) -> str:
    engine = create_engine(levers_url)
    try:
        async with create_sessionmaker(engine).begin() as session:
            report = await import_territories(session)
    finally:
        await engine.dispose()
    return f"territories: {report.regions} régions, {report.departements} départements"


def wait_healthy(url: str, processes: list[subprocess.Popen[bytes]], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a service exited during start-up; see its log above")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback URL we built)
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not become healthy in {timeout:.0f}s")


@app.command()
def up(
    postgres: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL server URL (postgresql+asyncpg://user@host:5432); default: embedded SQLite"
        ),
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="Where the SQLite files live")] = REPO / ".data",
    host: Annotated[str, typer.Option(help="Interface for the gateway")] = "127.0.0.1",
) -> None:
    """Migrate, load the reference data, start the services and the gateway; Ctrl-C stops them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    urls = database_urls(postgres, data_dir)
    asyncio.run(ensure_postgres_databases(urls))
    for spec in SERVICES:
        upgrade(spec.root, urls[spec.name])
    typer.echo("migrations applied")
    typer.echo(asyncio.run(load_reference_data(urls["levers"])))

    secret = os.environ.get("PLANECO_INTERNAL_SECRET") or secrets.token_urlsafe(32)
    env = dict(os.environ)
    for spec in SERVICES:
        env[f"{spec.env_prefix}DATABASE_URL"] = urls[spec.name]
        env[f"{spec.env_prefix}INTERNAL_SECRET"] = secret
        env.setdefault(f"{spec.env_prefix}LOG_JSON", "false")
    for spec in SERVICES[:3]:
        env[f"PLANECO_GATEWAY_{spec.name.upper()}_URL"] = f"http://127.0.0.1:{spec.port}"

    processes: list[subprocess.Popen[bytes]] = []

    def stop(*_: object) -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    # Explicit handlers: a shell starting us in the background may have set SIGINT to "ignore".
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        for spec in SERVICES:
            bind = host if spec.name == "gateway" else "127.0.0.1"
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                spec.app_path,
                "--factory",
                "--host",
                bind,
                "--port",
                str(spec.port),
                "--no-access-log",
                "--timeout-keep-alive",
                "75",
            ]
            processes.append(subprocess.Popen(command, env=env, cwd=REPO))  # noqa: S603
            wait_healthy(f"http://127.0.0.1:{spec.port}/healthz", processes)
        typer.echo(
            f"planeco is up: gateway http://{host}:8000 (docs /docs, contract /openapi.json)\n"
            "create a key with: .venv/bin/planeco auth create-key --role admin\nCtrl-C stops everything."
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        typer.echo("a service exited; stopping the others", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
