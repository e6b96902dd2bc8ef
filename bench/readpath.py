"""The read path (issue 10): what the reads every COP front-end makes cost, against the bare-ASGI floor,
on PostgreSQL and on the embedded SQLite default, and optionally against an earlier build, in one run.

    .venv/bin/python bench/readpath.py [--before ../wt-base] [--seconds 5] [--repeat 2]

Starts every process itself on 127.0.0.1 (`planeco <service> serve`, one process each, as production),
on fresh databases (PostgreSQL planeco_bench_*, and an SQLite file), migrated and loaded with the shipped
reference data (COG 2026, the three SGPE panoramas) by the CLI imports; an admin API key for the gateway.
`--before DIR`: a checkout of an earlier commit with its own `.venv` (`git worktree add ../wt-base <commit>
&& (cd ../wt-base && python3 dev.py sync)`), whose levers service and gateway are measured the same way on
their own databases. Drives each target with wrk (`apt-get install -y wrk`), the targets interleaved and
each point repeated (medians), prints the table, the goals of issue 10 met or missed, and writes
bench/results/readpath-<time>.json; stops every process it started by its PID.

Targets (`direct` = the levers service with the identity the gateway would sign; `gw` = through the gateway
with the API key):
  small        GET /api/v1/territories/regions/24 (157 bytes)
  panorama     GET /api/v1/panoramas/2024-07-24/regions/24
  departements GET /api/v1/panoramas/2024-07-24/regions/24/departements (all levers declined)
  epcis        GET /api/v1/panoramas/2024-07-24/regions/84/epcis (~780 KB of JSON), Accept-Encoding gzip
  304          the small read with the current ETag in If-None-Match
  cold         the panorama on a levers process with PLANECO_LEVERS_READ_CACHE_MEGABYTES=0: every request
               builds the answer (what a first read after a write costs)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from gateway import (  # bench/gateway.py: processes, databases, load generation
    DEFAULT_POSTGRES,
    REPO,
    RESULTS,
    Run,
    Server,
    Stack,
    Target,
    free_port,
    http_get,
    identity_for,
    load,
    machine,
    medians,
    recreate_databases,
    wait_ready,
)

PATHS = {
    "small": "/api/v1/territories/regions/24",
    "panorama": "/api/v1/panoramas/2024-07-24/regions/24",
    "departements": "/api/v1/panoramas/2024-07-24/regions/24/departements",
    "epcis": "/api/v1/panoramas/2024-07-24/regions/84/epcis",
}
PANORAMAS = sorted((REPO / "services" / "levers" / "data" / "sgpe-panorama").glob("panorama-*.json"))
# Figures quoted by issue 10 (README of 30 November 2026): req/s before, at the connections given.
BASELINE = {"small direct @4": 466.0, "panorama gw @8": 377.0, "departements gw @8": 164.0}


def cli(checkout: Path, args: list[str], env: dict[str, str]) -> str:
    import subprocess

    done = subprocess.run(
        [str(checkout / ".venv" / "bin" / "planeco"), *args],
        env=env,
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"planeco {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


def prepare_levers(checkout: Path, url: str, env: dict[str, str]) -> None:
    env = env | {"PLANECO_LEVERS_DATABASE_URL": url}
    cli(checkout, ["levers", "migrate"], env)
    cli(checkout, ["levers", "import-territories"], env)
    for path in PANORAMAS:
        cli(checkout, ["levers", "import-panorama", str(path)], env)


def serve(stack: Stack, checkout: Path, name: str, service: str, port: int, env: dict[str, str]) -> Server:
    command = [str(checkout / ".venv" / "bin" / "planeco"), service, "serve"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    return stack.start(name, command, env, port)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=os.environ.get("PLANECO_BENCH_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--before", type=Path, help="a checkout of an earlier commit, with its .venv")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per point (medians)")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install -y wrk", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    builds = {"after": REPO} | ({"before": args.before.resolve()} if args.before else {})
    names = [f"{part}_{build}" for build in builds for part in ("levers", "gateway")]
    urls = asyncio.run(recreate_databases(args.postgres, names))
    workdir = Path(tempfile.mkdtemp(prefix="planeco-readpath-"))
    secret = secrets.token_urlsafe(32)
    base_env = dict(os.environ) | {
        "PLANECO_LEVERS_INTERNAL_SECRET": secret,
        "PLANECO_GATEWAY_INTERNAL_SECRET": secret,
        "PLANECO_LEVERS_LOG_LEVEL": "WARNING",
        "PLANECO_GATEWAY_LOG_LEVEL": "WARNING",
        # One key makes all the load: limits high enough never to trip, their cost still measured.
        "PLANECO_GATEWAY_RATE_LIMIT_AUTHENTICATED": "1000000000/minute",
        "PLANECO_GATEWAY_RATE_LIMIT_ANONYMOUS": "1000000000/minute",
    }
    stack = Stack()
    servers: dict[str, Server] = {}
    keys: dict[str, str] = {}
    info = machine()
    runs: list[Run] = []
    try:
        servers["bare"] = stack.uvicorn("bare", "bare:app", free_port(), base_env)
        for build, checkout in builds.items():
            print(f"preparing {build} ({checkout}) …", flush=True)
            levers_url, gateway_url = urls[f"levers_{build}"], urls[f"gateway_{build}"]
            prepare_levers(checkout, levers_url, base_env)
            levers_port, gateway_port = free_port(), free_port()
            env = base_env | {
                "PLANECO_LEVERS_DATABASE_URL": levers_url,
                "PLANECO_GATEWAY_DATABASE_URL": gateway_url,
                "PLANECO_GATEWAY_LEVERS_URL": f"http://127.0.0.1:{levers_port}",
            }
            cli(checkout, ["gateway", "migrate"], env)
            key = cli(
                checkout, ["auth", "create-key", "--role", "admin", "--label", "bench"], env
            ).splitlines()[-1]
            keys[build] = key
            servers[f"levers {build}"] = serve(stack, checkout, f"levers-{build}", "levers", levers_port, env)
            servers[f"gateway {build}"] = serve(
                stack, checkout, f"gateway-{build}", "gateway", gateway_port, env
            )
            if build == "after":
                sqlite_url = f"sqlite+aiosqlite:///{workdir}/levers.db"
                prepare_levers(checkout, sqlite_url, base_env)
                sqlite_env = env | {"PLANECO_LEVERS_DATABASE_URL": sqlite_url}
                servers["levers sqlite"] = serve(
                    stack, checkout, "levers-sqlite", "levers", free_port(), sqlite_env
                )
                cold_env = env | {"PLANECO_LEVERS_READ_CACHE_MEGABYTES": "0"}
                servers["levers cold"] = serve(
                    stack, checkout, "levers-cold", "levers", free_port(), cold_env
                )
        for name, server in servers.items():
            wait_ready(server, "/" if name == "bare" else "/readyz")

        def direct(build: str) -> Callable[[], dict[str, str]]:
            """What the gateway forwards for this build's key (signed afresh for each run)."""
            return lambda: {
                "x-planeco-identity": identity_for(keys[build], secret),
                "Accept-Encoding": "gzip",
            }

        targets: list[tuple[Target, int]] = [
            (Target("bare", servers["bare"].url + "/", dict, [servers["bare"]]), 4)
        ]
        for build in builds:
            lev, gw = servers[f"levers {build}"], servers[f"gateway {build}"]
            key = keys[build]

            def via_gateway(key: str = key) -> dict[str, str]:
                return {"X-API-Key": key, "Accept-Encoding": "gzip"}

            small = PATHS["small"]
            etag = http_get(lev.url + small, direct(build)())[1].get("etag", "")
            targets += [
                (Target(f"small direct {build}", lev.url + small, direct(build), [lev]), 4),
                (Target(f"small gw {build}", gw.url + small, via_gateway, [gw, lev]), 4),
                (
                    Target(
                        f"304 direct {build}",
                        lev.url + small,
                        lambda b=build, e=etag: direct(b)() | {"If-None-Match": e},
                        [lev],
                    ),
                    4,
                ),
                (Target(f"panorama gw {build}", gw.url + PATHS["panorama"], via_gateway, [gw, lev]), 8),
                (
                    Target(
                        f"departements gw {build}", gw.url + PATHS["departements"], via_gateway, [gw, lev]
                    ),
                    8,
                ),
                (Target(f"epcis gw {build}", gw.url + PATHS["epcis"], via_gateway, [gw, lev]), 1),
            ]
        for name in ("levers sqlite", "levers after"):
            lev = servers[name]
            label = "sqlite" if "sqlite" in name else "pg"
            targets += [
                (Target(f"small direct {label}", lev.url + PATHS["small"], direct("after"), [lev]), 4),
                (Target(f"panorama direct {label}", lev.url + PATHS["panorama"], direct("after"), [lev]), 8),
                (
                    Target(
                        f"departements direct {label}",
                        lev.url + PATHS["departements"],
                        direct("after"),
                        [lev],
                    ),
                    8,
                ),
            ]
        cold = servers["levers cold"]
        targets.append(
            (Target("panorama direct cold", cold.url + PATHS["panorama"], direct("after"), [cold]), 8)
        )

        for target, connections in targets:  # warm-up: caches filled, JIT-free but pools and pages warm
            load("wrk", target, connections, 1.0, 1)
        print(f"{'target':<28}{'conns':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}  CPU µs/request")
        for _ in range(args.repeat):
            for target, connections in targets:
                run = load("wrk", target, connections, args.seconds, 1)
                runs.append(run)
                cpu = ", ".join(f"{k} {v:g}" for k, v in run.cpu_us_per_request.items())
                print(
                    f"{run.target:<28}{run.connections:>6}{run.rps:>10,.0f}{run.p50_ms:>9.2f}{run.p99_ms:>9.2f}"
                    f"{run.errors + run.timeouts:>5}  {cpu}",
                    flush=True,
                )
    finally:
        stack.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    summary = {run.target: run for run in medians(runs)}
    print("\nmedians:")
    for run in summary.values():
        cpu = ", ".join(f"{k} {v:g}" for k, v in run.cpu_us_per_request.items())
        floor = summary["bare"].rps
        share = run.rps / floor
        print(
            f"  {run.target:<28}{run.connections:>4} conns {run.rps:>9,.0f} req/s ({share:.3f} of bare)"
            f" p50 {run.p50_ms:.2f} ms  {cpu}"
        )
    goals = judge(summary, "before" in builds)
    print("\ngoals (issue 10):")
    for line in goals:
        print("  " + line)
    out = RESULTS / f"readpath-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "machine": info | {"loadavg_after": os.getloadavg()},
        "builds": {k: str(v) for k, v in builds.items()},
        "paths": PATHS,
        "runs": [asdict(r) for r in runs],
        "goals": goals,
    }
    out.write_text(json.dumps(document, indent=2))
    print(f"written {out}")
    return 0


def judge(summary: dict[str, Run], with_before: bool) -> list[str]:
    def rps(name: str) -> float:
        return summary[name].rps

    def cpu(name: str, process: str) -> float:
        return summary[name].cpu_us_per_request.get(process, float("nan"))

    def verdict(ok: bool) -> str:
        return "met   " if ok else "MISSED"

    lines = []
    small_cpu = cpu("small direct after", "levers-after")
    lines.append(
        f"{verdict(small_cpu <= 500)} small read direct: {small_cpu:.0f} µs CPU/request (goal ≤ 500)"
    )
    reference = rps("small direct before") if with_before else BASELINE["small direct @4"]
    ratio = rps("small direct after") / reference
    lines.append(
        f"{verdict(ratio >= 4)} small read direct @4: {rps('small direct after'):,.0f} req/s = {ratio:.1f}× "
        f"{'the before build' if with_before else 'the README figure'} ({reference:,.0f}; goal ≥ 4×)"
    )
    gateway_cpu = cpu("small gw after", "gateway-after")
    lines.append(
        f"{verdict(gateway_cpu <= 300)} gateway's own CPU: {gateway_cpu:.0f} µs/request (goal ≤ 300)"
    )
    for read in ("panorama", "departements"):
        reference = rps(f"{read} gw before") if with_before else BASELINE[f"{read} gw @8"]
        after = rps(f"{read} gw after")
        ratio = after / reference
        lines.append(
            f"{verdict(ratio >= 3)} {read} via the gateway @8: {after:,.0f} req/s = {ratio:.1f}× "
            f"({reference:,.0f}; goal ≥ 3×)"
        )
    not_modified = cpu("304 direct after", "levers-after")
    lines.append(f"       304 revalidation direct: {not_modified:.0f} µs CPU/request, no data read (tested)")
    for read in ("small", "panorama", "departements"):
        ratio = rps(f"{read} direct pg") / rps(f"{read} direct sqlite")
        lines.append(f"{verdict(ratio <= 2)} SQLite {read}: PostgreSQL/SQLite req/s = {ratio:.2f} (goal ≤ 2)")
    epcis = summary["epcis gw after"]
    lines.append(
        f"{verdict(epcis.p50_ms <= 20)} EPCI declination 84, gzip: p50 {epcis.p50_ms:.1f} ms (goal ≤ 20)"
    )
    lines.append(
        f"       cold panorama (no read cache): {rps('panorama direct cold'):,.0f} req/s, "
        f"{cpu('panorama direct cold', 'levers-cold'):.0f} µs CPU/request"
    )
    lines.append(f"       (host load average at the end: {os.getloadavg()[0]:.2f})")
    return lines


if __name__ == "__main__":
    sys.exit(main())
