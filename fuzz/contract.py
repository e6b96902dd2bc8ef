"""No input makes the API answer 5xx: the public contract fuzzed against the real stack.

    .venv/bin/python fuzz/contract.py [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]
                                      [--max-examples 25] [--random] [--all-checks]

Starts the four real processes on free loopback ports, as `planeco dev up` does: fresh SQLite files
in a temporary directory, or fresh `planeco_fuzz_<pid>_*` PostgreSQL databases dropped at the end;
migrated; the real reference data loaded. Creates an admin API key (`planeco auth create-key`), then
runs Schemathesis against the gateway's merged contract (`/openapi.json`): examples, edge cases,
random inputs and chained calls for every operation, as that admin. The check is
`not_a_server_error`: any 5xx fails the run, which prints how to reproduce it. `--all-checks` adds
the conformance checks (documented statuses and schemas, `Allow`...): informative, since some
refusals (412 on a stale If-Match, 422 on a rule no schema can express) are by design. Every
process started is stopped by its PID, on SIGTERM too. CI runs the defaults: deterministic
generation, the same inputs on every run, so that a failure is the code's, not the dice's;
`--random` explores further.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from planeco.devstack import (
    SERVICES,
    load_reference_data,
    stack_env,
    start_process,
    stop_processes,
    wait_healthy,
)
from planeco_shared.migrations import upgrade
from planeco_shared.testing import drop_postgres_database, recreate_postgres_database

BIN = Path(sys.executable).parent


def free_base_port() -> int:
    """A port whose next three are free too (the gateway, then the three services)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base = int(probe.getsockname()[1])
        if base + len(SERVICES) >= 65535:
            continue
        try:
            sockets = [socket.create_server(("127.0.0.1", base + offset)) for offset in range(len(SERVICES))]
        except OSError:
            continue
        for held in sockets:
            held.close()
        return base
    raise RuntimeError("no four consecutive free ports")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", help="PostgreSQL server URL; default: SQLite in a temporary directory")
    parser.add_argument("--max-examples", type=int, default=25, help="per operation and phase")
    parser.add_argument("--random", action="store_true", help="random generation instead of deterministic")
    parser.add_argument("--all-checks", action="store_true", help="add the conformance checks")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="planeco-fuzz-") as data_dir:
        if args.postgres:  # this run's own databases (the pid in their names): runs never collide
            server = make_url(args.postgres)
            urls = {
                spec.name: server.set(database=f"planeco_fuzz_{os.getpid()}_{spec.name}").render_as_string(
                    hide_password=False
                )
                for spec in SERVICES
            }
        else:  # never a database the environment names: fresh files only
            urls = {spec.name: f"sqlite+aiosqlite:///{Path(data_dir) / spec.name}.db" for spec in SERVICES}
        processes: list[subprocess.Popen[bytes]] = []
        signal.signal(signal.SIGTERM, _interrupted)  # a CI timeout still stops the processes below
        try:
            return fuzz(args, urls, data_dir, processes)
        except KeyboardInterrupt:
            return 130
        finally:
            stop_processes(processes)
            if args.postgres:
                for url in urls.values():
                    asyncio.run(drop_postgres_database(url))


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def fuzz(
    args: argparse.Namespace, urls: dict[str, str], data_dir: str, processes: list[subprocess.Popen[bytes]]
) -> int:
    """Create and load the databases, start the stack into `processes`, run Schemathesis: its exit status."""
    for url in urls.values():
        if url.startswith("postgresql"):
            asyncio.run(recreate_postgres_database(url))
    for spec in SERVICES:
        upgrade(spec.root, urls[spec.name])
    print(asyncio.run(load_reference_data(urls["levers"])), flush=True)

    base_port = free_base_port()
    env = stack_env(urls, secrets.token_urlsafe(32), base_port)
    env.update({f"{spec.env_prefix}LOG_LEVEL": "WARNING" for spec in SERVICES})
    # Thousands of generated requests from one client and one key: no 429 in the way of the checks.
    env.update(
        {
            f"PLANECO_GATEWAY_RATE_LIMIT_{kind}": "1000000/minute"
            for kind in ("ANONYMOUS", "AUTHENTICATED", "FAILED_AUTH")
        }
    )
    created = subprocess.run(
        [BIN / "planeco", "auth", "create-key", "--role", "admin", "--label", "fuzz"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if created.returncode != 0:
        raise RuntimeError(f"planeco auth create-key failed:\n{created.stderr}")
    key = created.stdout.splitlines()[-1]

    for spec in SERVICES:
        processes.append(start_process(spec, env, base_port=base_port))
        wait_healthy(f"http://127.0.0.1:{base_port + spec.offset}/healthz", processes)
    command = [
        str(BIN / "st"),
        "run",
        f"http://127.0.0.1:{base_port}/openapi.json",
        "--header",
        f"X-API-Key: {key}",
        "--checks",
        "all" if args.all_checks else "not_a_server_error",
        "--max-examples",
        str(args.max_examples),
        *([] if args.random else ["--generation-deterministic"]),  # no example database either
        "--request-timeout",
        "30",
        # One worker: with two, CPython 3.11's `ast` (not thread-safe before 3.12) made Schemathesis crash
        # at random with "SystemError: AST constructor recursion depth mismatch".
        "--workers",
        "1",
        "--no-color",
    ]
    print("fuzzing:", " ".join(c if not c.startswith("X-API-Key") else "X-API-Key: …" for c in command))
    # In the temporary directory: Schemathesis keeps its crash cache in the working directory.
    return subprocess.run(command, env=os.environ | {"NO_COLOR": "1"}, cwd=data_dir, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
