"""`planeco dev up`: the whole stack on this machine, one process per service, gateway on :8000."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.engine import make_url

from planeco_actions.aids.fake.server import DEFAULT_API_KEY as FAKE_AIDES_TERRITOIRES_KEY
from planeco_actions.jobs import JOBS as ACTIONS_JOBS
from planeco_actions.settings import ActionsSettings
from planeco_diagnostic.jobs import JOBS as DIAGNOSTIC_JOBS
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_levers.jobs import JOBS as LEVERS_JOBS
from planeco_levers.settings import LeversSettings
from planeco_shared.jobs import JobOutcome, JobRegistry, JobTrigger, run_job
from planeco_shared.migrations import upgrade
from planeco_shared.runtime import ServiceRuntime

REPO = Path(__file__).resolve().parents[2]
JOB_REGISTRIES: dict[str, JobRegistry] = {
    "levers": LEVERS_JOBS,
    "diagnostic": DIAGNOSTIC_JOBS,
    "actions": ACTIONS_JOBS,
}

app = typer.Typer(help="Run the stack locally.", no_args_is_help=True)


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    offset: int  # port = base port + offset; the gateway is on the base port
    app_path: str

    @property
    def env_prefix(self) -> str:
        return f"PLANECO_{self.name.upper()}_"

    @property
    def root(self) -> Path:
        return REPO / "services" / self.name


SERVICES = (
    ServiceSpec("levers", 1, "planeco_levers.app:create_app"),
    ServiceSpec("diagnostic", 2, "planeco_diagnostic.app:create_app"),
    ServiceSpec("actions", 3, "planeco_actions.app:create_app"),
    ServiceSpec("gateway", 0, "planeco_gateway.app:create_app"),
)
DEFAULT_BASE_PORT = 8000
FAKE_AIDES_TERRITOIRES_OFFSET = 10  # the fake Aides-territoires listens on base port + 10
MAIL_SERVER_OFFSET = 25  # the local SMTP server (planeco.mailserver) listens on base port + 25
AIDES_TERRITOIRES_KEY = "PLANECO_ACTIONS_AIDES_TERRITOIRES_API_KEY"


def stack_env(urls: dict[str, str], secret: str, base_port: int) -> dict[str, str]:
    """Environment of the four processes: databases, the shared internal secret, and where each process
    finds the services (the gateway's upstreams, the services' clients of each other)."""
    env = dict(os.environ)
    for spec in SERVICES:
        env[f"{spec.env_prefix}DATABASE_URL"] = urls[spec.name]
        env[f"{spec.env_prefix}INTERNAL_SECRET"] = secret
        env.setdefault(f"{spec.env_prefix}LOG_JSON", "false")
        for upstream in SERVICES:
            if upstream.name != "gateway":
                url = f"http://127.0.0.1:{base_port + upstream.offset}"
                env[f"{spec.env_prefix}{upstream.name.upper()}_URL"] = url
    return env


def start_process(
    spec: ServiceSpec, env: dict[str, str], *, base_port: int, host: str = "127.0.0.1"
) -> subprocess.Popen[bytes]:
    # `planeco <service> serve`, as in the images: one server configuration (timeouts, no Server header,
    # a response's writes sent together) for the dev stack, the end-to-end tests and production.
    planeco = str(Path(sys.executable).with_name("planeco"))
    command = [planeco, spec.name, "serve", "--host", host, "--port", str(base_port + spec.offset)]
    return subprocess.Popen(command, env=env, cwd=REPO)  # noqa: S603 (our own interpreter and arguments)


def stop_processes(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate by PID, wait, kill what lingers."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
    """The levers reference-data job, as compose and Kubernetes run it: recorded in the levers job_runs."""
    settings = LeversSettings(database_url=levers_url, log_json=False)
    async with ServiceRuntime.open("levers", settings) as runtime:
        result = await run_job(
            runtime, LEVERS_JOBS, "reference-data", trigger=JobTrigger.cli, started_by="devstack"
        )
    if result.outcome is not JobOutcome.succeeded:
        raise RuntimeError(f"reference data not loaded ({result.outcome.value}): {result.message}")
    return result.message or "reference data loaded"


async def load_default_questionnaire(env: dict[str, str]) -> str:
    """The diagnostic import-default-questionnaire job (idempotent), once the levers service answers: it
    checks the questionnaire's levers there. Recorded in the diagnostic job_runs."""
    settings = DiagnosticSettings(
        database_url=env["PLANECO_DIAGNOSTIC_DATABASE_URL"],
        levers_url=env["PLANECO_DIAGNOSTIC_LEVERS_URL"],
        internal_secret=env["PLANECO_DIAGNOSTIC_INTERNAL_SECRET"],
        log_json=False,
    )
    if not settings.default_questionnaire_path.is_file():
        return f"default questionnaire: none shipped at {settings.default_questionnaire_path}, skipped"
    async with ServiceRuntime.open("diagnostic", settings) as runtime:
        result = await run_job(
            runtime,
            DIAGNOSTIC_JOBS,
            "import-default-questionnaire",
            trigger=JobTrigger.cli,
            started_by="devstack",
        )
    if result.outcome is not JobOutcome.succeeded:
        details = "; ".join(f"{e['item']}: {e['message']}" for e in result.errors[:5])
        raise RuntimeError(
            f"default questionnaire not loaded ({result.outcome.value}): {result.message} {details}"
        )
    return result.message or "default questionnaire loaded"


def scheduled_services(env: dict[str, str]) -> list[str]:
    """The services with at least one job on a schedule, in the stack's environment (a bad schedule
    setting fails here, before anything starts)."""
    names = []
    for name, registry in JOB_REGISTRIES.items():
        overrides = json.loads(env.get(f"PLANECO_{name.upper()}_JOB_SCHEDULES") or "{}")
        if any(registry.schedules(overrides).values()):
            names.append(name)
    return names


def start_scheduler(service: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`planeco <service> scheduler` as its own process, like the compose service."""
    command = [sys.executable, "-c", f"from planeco_{service}.cli import app; app()", "scheduler"]
    return subprocess.Popen(command, env=env, cwd=REPO)  # noqa: S603 (our own interpreter and arguments)


def start_mail_server(env: dict[str, str], port: int, folder: Path) -> subprocess.Popen[bytes]:
    """A real SMTP server on loopback that keeps every message as an .eml file in `folder`, and the
    diagnostic's SMTP settings pointed at it (its outbox's send-mail job delivers there)."""
    command = [sys.executable, "-m", "planeco.mailserver", "--port", str(port), "--dir", str(folder)]
    env["PLANECO_DIAGNOSTIC_SMTP_HOST"] = "127.0.0.1"
    env["PLANECO_DIAGNOSTIC_SMTP_PORT"] = str(port)
    env["PLANECO_DIAGNOSTIC_SMTP_STARTTLS"] = "false"
    return subprocess.Popen(command, env=env, cwd=REPO)  # noqa: S603 (our own interpreter and arguments)


def wait_listening(port: int, processes: list[subprocess.Popen[bytes]], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError("a process exited during start-up; see its log above")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on :{port} after {timeout:.0f}s")


def start_fake_aides_territoires(env: dict[str, str], port: int, aids: int) -> subprocess.Popen[bytes]:
    """The fake Aides-territoires with a generated catalogue, and the actions service's settings pointed at
    it (used when no real API key is set)."""
    command = [sys.executable, "-m", "planeco_actions.aids.fake", "--port", str(port), "--aids", str(aids)]
    env["PLANECO_ACTIONS_AIDES_TERRITOIRES_URL"] = f"http://127.0.0.1:{port}"
    env[AIDES_TERRITOIRES_KEY] = FAKE_AIDES_TERRITOIRES_KEY
    env["PLANECO_ACTIONS_AIDES_TERRITOIRES_PAUSE"] = "0"
    return subprocess.Popen(command, env=env, cwd=REPO)  # noqa: S603 (our own interpreter and arguments)


async def sync_aids_once(env: dict[str, str]) -> str:
    """The actions sync-aids job, once, so that the catalogue is not empty (recorded in its job_runs)."""
    settings = ActionsSettings(
        database_url=env["PLANECO_ACTIONS_DATABASE_URL"],
        aides_territoires_url=env.get("PLANECO_ACTIONS_AIDES_TERRITOIRES_URL")
        or ActionsSettings().aides_territoires_url,
        aides_territoires_api_key=env[AIDES_TERRITOIRES_KEY],
        aides_territoires_pause=float(env.get("PLANECO_ACTIONS_AIDES_TERRITOIRES_PAUSE", "0.5")),
        log_json=False,
    )
    async with ServiceRuntime.open("actions", settings) as runtime:
        result = await run_job(
            runtime, ACTIONS_JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="devstack"
        )
    return f"aids: {result.outcome.value}: {result.message}"


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
    base_port: Annotated[
        int, typer.Option(help="Gateway port; the services take the next three")
    ] = DEFAULT_BASE_PORT,
    schedules: Annotated[
        bool, typer.Option(help="Also run each service's scheduled jobs at their cron times (UTC)")
    ] = True,
    fake_aids: Annotated[
        int,
        typer.Option(
            min=0,
            max=100_000,
            help="Without PLANECO_ACTIONS_AIDES_TERRITOIRES_API_KEY: how many GENERATED aids the fake "
            "Aides-territoires serves (0: no fake, no sync)",
        ),
    ] = 200,
) -> None:
    """Migrate, load the reference data (the levers reference-data job), sync the aids once (from a fake
    Aides-territoires with a generated catalogue unless a real API key is set), start the services and the
    gateway, load the default questionnaire (the diagnostic import-default-questionnaire job, which checks
    its levers against the running levers service), start the scheduler of each service with scheduled
    jobs; Ctrl-C stops them."""
    data_dir.mkdir(parents=True, exist_ok=True)
    urls = database_urls(postgres, data_dir)
    asyncio.run(ensure_postgres_databases(urls))
    for spec in SERVICES:
        upgrade(spec.root, urls[spec.name])
    typer.echo("migrations applied")
    typer.echo(asyncio.run(load_reference_data(urls["levers"])))

    secret = os.environ.get("PLANECO_INTERNAL_SECRET") or secrets.token_urlsafe(32)
    env = stack_env(urls, secret, base_port)
    processes: list[subprocess.Popen[bytes]] = []

    def interrupted(*_: object) -> None:
        raise KeyboardInterrupt

    # Explicit handlers: a shell starting us in the background may have set SIGINT to "ignore".
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        if AIDES_TERRITOIRES_KEY not in env and fake_aids:
            port = base_port + FAKE_AIDES_TERRITOIRES_OFFSET
            processes.append(start_fake_aides_territoires(env, port, fake_aids))
            wait_healthy(f"http://127.0.0.1:{port}/_fake/stats", processes)
            typer.echo(
                f"fake Aides-territoires on :{port}: a GENERATED catalogue of {fake_aids} fictitious aids "
                f"(set {AIDES_TERRITOIRES_KEY} to sync the real one)"
            )
        if AIDES_TERRITOIRES_KEY in env:
            typer.echo(asyncio.run(sync_aids_once(env)))
        mail_port = base_port + MAIL_SERVER_OFFSET
        processes.append(start_mail_server(env, mail_port, data_dir / "mail"))
        wait_listening(mail_port, processes)
        typer.echo(
            f"SMTP server on 127.0.0.1:{mail_port}: the diagnostic's e-mails are kept in "
            f"{data_dir / 'mail'}/ "
            "as .eml files (open them with any mail client or a text editor)"
        )
        for spec in SERVICES:
            processes.append(
                start_process(
                    spec, env, base_port=base_port, host=host if spec.name == "gateway" else "127.0.0.1"
                )
            )
            wait_healthy(f"http://127.0.0.1:{base_port + spec.offset}/healthz", processes)
        typer.echo(asyncio.run(load_default_questionnaire(env)))
        for service in scheduled_services(env) if schedules else []:
            processes.append(start_scheduler(service, env))
        typer.echo(
            f"planeco is up: gateway http://{host}:{base_port} (docs /docs, contract /openapi.json)\n"
            "create a key with: .venv/bin/planeco auth create-key --role admin\nCtrl-C stops everything."
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        typer.echo("a service exited; stopping the others", err=True)
        raise typer.Exit(1)
    except KeyboardInterrupt:
        pass
    finally:
        stop_processes(processes)
