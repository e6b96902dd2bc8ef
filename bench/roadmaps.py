"""Roadmaps at scale (issue 12): 20,000 COP actions across every région, with impacts and budget lines,
loaded through the gateway's roadmap import; then the reads a COP front-end makes and a 2,000-row import,
timed through the gateway on PostgreSQL.

    .venv/bin/python bench/roadmaps.py [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]
                                       [--actions 20000] [--requests 60]

Starts its processes itself on 127.0.0.1 (`planeco levers|actions|gateway serve`, one process each, as
production) on fresh PostgreSQL databases (planeco_bench_roadmaps_*), the levers one migrated and loaded
with the shipped reference data (COG 2026, the three SGPE panoramas) by the CLI imports; an admin API key
for the gateway; stops every process it started by its PID.

1. Load: per région, files of up to 2,000 rows (`POST /api/v1/actions/imports`): actions on the région
   and on its départements (a third each on the région, two thirds on its départements), a main lever of the
   région's panorama, status spread over proposee / retenue / en_cours / realisee, an impact (the electric-car
   lever in thousands of vehicles, the others in ktCO2e), two budget lines, a carrier and a partner, dates.
2. Reads, one connection, `--requests` each after 5 warm-ups (p50, p95): the région roadmap
   (`GET /api/v1/roadmaps/regions/24`), a département roadmap (`…/regions/24/departements/45`) and a filtered
   search (`GET /api/v1/actions?region=24&lever_id=…&status=retenue&q=…`, page of 50).
3. A roadmap import of 2,000 new rows into région 84, timed; then the same file again (no change, nothing
   written), timed.
Prints the figures and the goals (région roadmap p50 < 100 ms, search < 50 ms, import < 10 s) and writes
bench/results/roadmaps-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import statistics
import sys
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
from gateway import (  # bench/gateway.py: processes, databases
    DEFAULT_POSTGRES,
    REPO,
    RESULTS,
    Server,
    Stack,
    free_port,
    machine,
    recreate_databases,
    run_cli,
    wait_ready,
)

PANORAMAS = sorted((REPO / "services" / "levers" / "data" / "sgpe-panorama").glob("panorama-*.json"))
HEADER = (
    "external_id;title;description;territory;lever_id;status;nature;multi_acteurs;start_date;end_date;"
    "carriers;partners;estimated_cost_eur;budget_lines;impact_value;impact_unit"
)
STATUSES = ("proposee", "retenue", "retenue", "en_cours", "realisee")
NATURES = ("nouvelle", "amplifiee", "acceleree", "reorientee")
WORDS = ("haies", "bornes", "rénovation", "covoiturage", "chaufferie", "méthanisation", "vélo", "isolation")
CARS = "augm_voitelec"
FILE_ROWS = 2_000


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def row(number: int, prefix: str, territory: str, lever: dict[str, Any], rng: random.Random) -> str:
    status = STATUSES[(number // 3) % len(STATUSES)]  # not in step with the lever either
    word = WORDS[(number // 7) % len(WORDS)]  # not in step with the lever (number % levers)
    start = 2024 + number % 4
    if lever["lever_id"] == CARS and lever["has_physical_unit"] and Decimal(lever["ratio"]):
        impact = f"{rng.randint(1, 40)};physical"  # thousands of electric cars
    else:
        impact = f"{Decimal(rng.randint(1, 20000)) / 1000};ktco2e"
    budget = (
        f"{start}:Région:{rng.randint(1, 900) * 1000}:acquis|"
        f"{start + 1}:ADEME:{rng.randint(1, 500) * 1000}:planifie"
    )
    return ";".join(
        [
            f"{prefix}-{number:06d}",
            f"Action {word} n° {number}",
            f"Programme {word} du territoire {territory}, action générée pour le banc d'essai",
            territory,
            lever["lever_id"],
            status,
            NATURES[number % len(NATURES)],
            "true" if number % 3 else "false",
            f"{start}-01-01",
            f"{start + 3}-12-31",
            f"collectivite:{territory}:pilote",
            "entreprise:Bureau d'études Énergie:assistance",
            str(rng.randint(10, 5000) * 1000),
            budget,
            impact,
        ]
    )


def region_rows(
    code: str, departements: list[str], levers: list[dict[str, Any]], count: int, prefix: str, seed: int
) -> list[str]:
    rng = random.Random(seed)
    rows = []
    for number in range(count):
        territory = (
            f"region:{code}"
            if number % 3 == 0 or not departements
            else (f"departement:{departements[number % len(departements)]}")
        )
        rows.append(row(number, f"{prefix}{code}", territory, levers[number % len(levers)], rng))
    return rows


def upload(http: httpx.Client, key: str, rows: list[str]) -> tuple[float, dict[str, Any]]:
    body = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    started = time.perf_counter()
    response = http.post(
        "/api/v1/actions/imports",
        content=body,
        headers={"X-API-Key": key, "content-type": "text/csv"},
        timeout=600,
    )
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"import failed: {response.status_code} {response.text[:2000]}")
    report: dict[str, Any] = response.json()
    return elapsed, report


def timed_reads(
    http: httpx.Client, key: str, path: str, params: dict[str, Any], requests: int
) -> dict[str, Any]:
    headers = {"X-API-Key": key, "Accept-Encoding": "gzip"}
    for _ in range(5):
        http.get(path, params=params, headers=headers).raise_for_status()
    latencies = []
    size = 0
    for _ in range(requests):
        started = time.perf_counter()
        response = http.get(path, params=params, headers=headers)
        latencies.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        size = len(response.content)
    body = response.json()
    return {
        "path": path,
        "params": params,
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "bytes": size,
        "actions": body.get("total", len(body.get("actions", []))) if isinstance(body, dict) else None,
    }


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=os.environ.get("PLANECO_BENCH_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--actions", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=60)
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    urls = asyncio.run(
        recreate_databases(args.postgres, ["roadmaps_levers", "roadmaps_actions", "roadmaps_gateway"])
    )
    secret = secrets.token_urlsafe(32)
    ports = {name: free_port() for name in ("levers", "actions", "gateway")}
    env = dict(os.environ)
    for service in ("LEVERS", "ACTIONS", "GATEWAY"):
        env |= {
            f"PLANECO_{service}_INTERNAL_SECRET": secret,
            f"PLANECO_{service}_LOG_LEVEL": "WARNING",
            f"PLANECO_{service}_DATABASE_URL": urls[f"roadmaps_{service.lower()}"],
            f"PLANECO_{service}_LEVERS_URL": f"http://127.0.0.1:{ports['levers']}",
            f"PLANECO_{service}_ACTIONS_URL": f"http://127.0.0.1:{ports['actions']}",
        }
    env |= {
        "PLANECO_GATEWAY_RATE_LIMIT_AUTHENTICATED": "1000000000/minute",
        "PLANECO_GATEWAY_UPSTREAM_TIMEOUT": "120",
        "PLANECO_ACTIONS_JOB_SCHEDULES": "{}",
    }
    stack = Stack()
    result: dict[str, Any] = {"machine": machine(), "actions": args.actions}
    try:
        started = time.perf_counter()
        run_cli(["levers", "migrate"], env)
        run_cli(["levers", "import-territories"], env)
        for path in PANORAMAS:
            run_cli(["levers", "import-panorama", str(path)], env)
        run_cli(["actions", "migrate"], env)
        run_cli(["gateway", "migrate"], env)
        key = run_cli(["auth", "create-key", "--role", "admin", "--label", "bench"], env).splitlines()[-1]
        servers: dict[str, Server] = {}
        for name, port in ports.items():
            servers[name] = stack.serve(name, name, port, env, 1)
        for name, server in servers.items():
            wait_ready(server, "/healthz" if name == "gateway" else "/readyz")
        print(f"stack ready in {time.perf_counter() - started:.0f} s", flush=True)

        gateway = servers["gateway"].url
        with httpx.Client(base_url=gateway, timeout=60) as http:
            auth = {"X-API-Key": key}
            regions = [
                r["code"]
                for r in http.get(
                    "/api/v1/territories/regions", params={"page_size": 500}, headers=auth
                ).json()["items"]
            ]
            departements: dict[str, list[str]] = {code: [] for code in regions}
            for item in http.get(
                "/api/v1/territories/departements", params={"page_size": 500}, headers=auth
            ).json()["items"]:
                departements[item["region"]].append(item["code"])
            levers = {
                code: http.get(f"/api/v1/panoramas/latest/regions/{code}", headers=auth).json()["levers"]
                for code in regions
            }
            # 1. the load, spread over the régions in proportion to nothing but their number
            per_region = args.actions // len(regions)
            extra = args.actions - per_region * len(regions)
            load_started = time.perf_counter()
            files = []
            for index, code in enumerate(regions):
                count = per_region + (1 if index < extra else 0)
                rows = region_rows(code, departements[code], levers[code], count, "B", seed=index)
                for start in range(0, len(rows), FILE_ROWS):
                    elapsed, report = upload(http, key, rows[start : start + FILE_ROWS])
                    files.append({"region": code, "rows": report["rows"], "seconds": round(elapsed, 2)})
                    print(
                        f"  loaded région {code}: {report['created']} actions in {elapsed:.1f} s", flush=True
                    )
            load_seconds = time.perf_counter() - load_started
            total = http.get("/api/v1/actions", params={"page_size": 1}, headers=auth).json()["total"]
            result["load"] = {"seconds": round(load_seconds, 1), "files": files, "total_actions": total}
            print(f"loaded {total} actions in {load_seconds:.0f} s", flush=True)

            # 2. the reads
            region_24 = http.get("/api/v1/actions", params={"page_size": 1, "region": "24"}, headers=auth)
            reads = {
                "region roadmap 24": timed_reads(http, key, "/api/v1/roadmaps/regions/24", {}, args.requests),
                "departement roadmap 24/45": timed_reads(
                    http, key, "/api/v1/roadmaps/regions/24/departements/45", {}, args.requests
                ),
                "filtered search": timed_reads(
                    http,
                    key,
                    "/api/v1/actions",
                    # ~55 matches of 1,111 (a full page): a search that finds nothing measures less
                    {"region": "24", "status": "retenue", "q": "bornes", "page_size": 50},
                    args.requests,
                ),
                "search by région, page of 50": timed_reads(
                    http, key, "/api/v1/actions", {"region": "24", "page_size": 50}, args.requests
                ),
            }
            result["reads"] = reads
            result["region_24_actions"] = region_24.json()["total"]
            for name, figures in reads.items():
                print(
                    f"  {name:<32} p50 {figures['p50_ms']:>7.1f} ms  p95 {figures['p95_ms']:>7.1f} ms  "
                    f"{figures['bytes']:>9,} bytes",
                    flush=True,
                )

            # 3. the import of 2,000 rows, then the same file again
            rows = region_rows("84", departements["84"], levers["84"], FILE_ROWS, "I", seed=84)
            first, first_report = upload(http, key, rows)
            again, again_report = upload(http, key, rows)
            result["import"] = {
                "rows": FILE_ROWS,
                "first_seconds": round(first, 2),
                "first": first_report,
                "again_seconds": round(again, 2),
                "again": again_report,
            }
            print(f"  import of {FILE_ROWS} new rows: {first:.2f} s {first_report}", flush=True)
            print(f"  the same file again: {again:.2f} s {again_report}", flush=True)
    finally:
        stack.stop()

    reads = result["reads"]
    goals = [
        ("région roadmap p50 < 100 ms", reads["region roadmap 24"]["p50_ms"] < 100),
        ("filtered search p50 < 50 ms", reads["filtered search"]["p50_ms"] < 50),
        ("2,000-row import < 10 s", result["import"]["first_seconds"] < 10),
    ]
    result["goals"] = dict(goals)
    print("\ngoals (issue 12):")
    for name, ok in goals:
        print(f"  {'met   ' if ok else 'MISSED'} {name}")
    out = RESULTS / f"roadmaps-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
