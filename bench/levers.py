"""Levers figures as users get them: import times of the reference data, and latency of the région
panorama and of a département declination through the gateway.

    .venv/bin/python bench/levers.py [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]

1. Imports, in-process on a fresh PostgreSQL database (planeco_bench_levers): the INSEE COG (first
   load and an idempotent re-run) and each shipped SGPE panorama version (first import and re-import).
2. Reads: starts the levers service and the gateway (`planeco <service> serve`, one process each) and
   drives, with wrk (or the Python fallback), authenticated by API key, at 1 and 8 connections:
     GET /api/v1/panoramas/2024-07-24/regions/24               (région panorama, official + adjusted)
     GET /api/v1/panoramas/2024-07-24/regions/24/departements  (all levers declined to 6 départements)
     GET /api/v1/panoramas/2024-07-24/regions/84/epcis          (all levers declined to 160+ EPCI)
   Requests carry no If-None-Match, so every one computes the figures (the 304 path is cheaper).
Prints a table, writes bench/results/levers-<time>.json, stops its processes by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from gateway import (  # bench/gateway.py: processes, databases, load generation
    DEFAULT_POSTGRES,
    RESULTS,
    Run,
    Stack,
    Target,
    free_port,
    load,
    machine,
    recreate_databases,
    run_cli,
    table,
    wait_ready,
)

READS = {
    "région panorama 24": "/api/v1/panoramas/2024-07-24/regions/24",
    "déclinaison 24 → départements": "/api/v1/panoramas/2024-07-24/regions/24/departements",
    "déclinaison 84 → EPCI": "/api/v1/panoramas/2024-07-24/regions/84/epcis",
}


def panorama_files() -> list[tuple[Path, bytes]]:
    data = Path(__file__).resolve().parents[1] / "services" / "levers" / "data" / "sgpe-panorama"
    return [(path, path.read_bytes()) for path in sorted(data.glob("panorama-*.json"))]


async def time_imports(levers_url: str) -> dict[str, float]:
    from planeco_levers.panoramas.importer import version_from_filename
    from planeco_levers.panoramas.service import import_panorama
    from planeco_levers.territories.importer import import_territories
    from planeco_shared.database import create_engine, create_sessionmaker
    from planeco_shared.identity import AuthMethod, Principal, Role

    principal = Principal(subject="bench", role=Role.admin, method=AuthMethod.api_key)
    engine = create_engine(levers_url)
    timings: dict[str, float] = {}
    try:
        sessionmaker = create_sessionmaker(engine)
        for label in ("COG 2026 (first load)", "COG 2026 (re-run, nothing changes)"):
            started = time.perf_counter()
            async with sessionmaker.begin() as session:
                await import_territories(session)
            timings[label] = time.perf_counter() - started
        for path, content in panorama_files():
            version = version_from_filename(path.name)
            assert version is not None
            for label in (f"panorama {version} (first import)", f"panorama {version} (re-import, no-op)"):
                started = time.perf_counter()
                async with sessionmaker.begin() as session:
                    await import_panorama(
                        session,
                        content,
                        version=version,
                        source_file=path.name,
                        principal=principal,
                        replace=False,
                    )
                timings[label] = time.perf_counter() - started
    finally:
        await engine.dispose()
    return timings


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    parser.add_argument("--seconds", type=float, default=5.0, help="Length of each load run")
    parser.add_argument("--connections", default="1,8", help="Connection counts, comma-separated")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    RESULTS.mkdir(parents=True, exist_ok=True)
    urls = asyncio.run(recreate_databases(args.postgres, ["levers", "gateway"]))
    secret = secrets.token_urlsafe(32)
    ports = {"levers": free_port(), "gateway": free_port()}
    env = dict(os.environ) | {
        "PLANECO_LEVERS_DATABASE_URL": urls["levers"],
        "PLANECO_GATEWAY_DATABASE_URL": urls["gateway"],
        "PLANECO_LEVERS_INTERNAL_SECRET": secret,
        "PLANECO_GATEWAY_INTERNAL_SECRET": secret,
        "PLANECO_GATEWAY_LEVERS_URL": f"http://127.0.0.1:{ports['levers']}",
        "PLANECO_LEVERS_LOG_LEVEL": "WARNING",
        "PLANECO_GATEWAY_LOG_LEVEL": "WARNING",
    }
    os.environ["PLANECO_LEVERS_DATABASE_URL"] = urls["levers"]
    run_cli(["levers", "migrate"], env)
    run_cli(["gateway", "migrate"], env)
    imports = asyncio.run(time_imports(urls["levers"]))
    print("import times (in-process, PostgreSQL):")
    for label, seconds in imports.items():
        print(f"  {label:<45}{seconds:8.2f} s")
    key = run_cli(["auth", "create-key", "--role", "admin", "--label", "bench"], env).splitlines()[-1]

    stack = Stack()
    runs: list[Run] = []
    info = machine()
    try:
        levers = stack.serve("levers", "levers", ports["levers"], env, 1)
        gateway = stack.serve("gateway", "gateway", ports["gateway"], env, 1)
        for server in (levers, gateway):
            wait_ready(server, "/readyz")
        targets = [
            Target(name, gateway.url + path, lambda: {"X-API-Key": key}, [gateway, levers])
            for name, path in READS.items()
        ]
        for target in targets:  # warm-up
            load(tool, target, 4, 2, 2)
        print(table([]).splitlines()[0])
        for count in (int(c) for c in args.connections.split(",")):
            for target in targets:
                run = load(tool, target, count, args.seconds, 2)
                runs.append(run)
                print(table([run]).splitlines()[1], flush=True)
    finally:
        stack.stop()

    print(f"\nmachine: {info['nproc']} cores, {info['cpu']}, {info['memory_gib']} GiB RAM; load tool {tool}")
    out = RESULTS / f"levers-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document: dict[str, Any] = {
        "machine": info | {"loadavg_after": os.getloadavg()},
        "imports_s": imports,
        "reads": dict(READS),
        "runs": [asdict(r) for r in runs],
    }
    out.write_text(json.dumps(document, indent=2))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
