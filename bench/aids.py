"""The Aides-territoires sync at scale, against the fake server (its own process, a generated catalogue).

    .venv/bin/python bench/aids.py [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]
                                   [--aids 2000,10000]

For each catalogue size, in a child process of its own (so that its peak memory is its own):
1. starts the fake Aides-territoires (`python -m planeco_actions.aids.fake --aids N`), stopped by its PID;
2. migrates a fresh actions database (SQLite file, or planeco_bench_aids on PostgreSQL);
3. runs the sync-aids job twice, as `planeco actions sync-aides` does (no pause between calls): the first
   sync loads every aid, the second finds them unchanged and must write nothing;
4. times a filtered search through the actions app in-process (`GET /api/v1/aids?q=haies&audience=commune&
   open_on=…`, 200 requests, p50 and p95), no network;
5. reports the child's peak RSS (ru_maxrss): flat in N when pages are streamed and staged.
Prints a table and writes bench/results/aids-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from planeco_actions.aids.fake.server import DEFAULT_API_KEY
from planeco_actions.app import create_app
from planeco_actions.jobs import JOBS
from planeco_actions.settings import ActionsSettings
from planeco_shared.jobs import JobTrigger, run_job
from planeco_shared.migrations import service_root_of, upgrade
from planeco_shared.runtime import ServiceRuntime, install_runtime
from planeco_shared.testing import TEST_SECRET, identity_headers, recreate_postgres_database

RESULTS = Path(__file__).parent / "results"
ACTIONS_ROOT = service_root_of(create_app.__code__.co_filename)
SEARCH = {"q": "haies", "audience": "commune", "open_on": "2027-01-15", "page_size": "50"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_fake(aids: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "planeco_actions.aids.fake", "--port", str(port), "--aids", str(aids)]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(400):
        try:
            if httpx.get(f"{url}/_fake/stats", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("the fake did not start")


async def measure(aids: int, postgres: str | None) -> dict[str, Any]:
    if postgres:
        database_url = (
            make_url(postgres).set(database="planeco_bench_aids").render_as_string(hide_password=False)
        )
        await recreate_postgres_database(database_url)
    else:
        database_url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='bench-aids-')}/actions.db"
    await asyncio.to_thread(upgrade, ACTIONS_ROOT, database_url)
    process, url = start_fake(aids)
    try:
        settings = ActionsSettings(
            database_url=database_url,
            aides_territoires_url=url,
            aides_territoires_api_key=SecretStr(DEFAULT_API_KEY),
            aides_territoires_pause=0,
            log_json=False,
            log_level="WARNING",
            internal_secret=SecretStr(TEST_SECRET),  # the reads below carry identities signed with it
        )
        async with ServiceRuntime.open("actions", settings) as runtime:
            timings, counts = [], []
            for _ in range(2):
                started = time.perf_counter()
                result = await run_job(runtime, JOBS, "sync-aids", trigger=JobTrigger.cli, started_by="bench")
                timings.append(time.perf_counter() - started)
                counts.append(result.counts)
            app = create_app(settings)
            install_runtime(app, runtime)
            headers = identity_headers("reader")
            latencies = []
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench"
            ) as http:
                for _ in range(200):
                    started = time.perf_counter()
                    response = await http.get("/api/v1/aids", params=SEARCH, headers=headers)
                    latencies.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                found = response.json()["total"]
    finally:
        process.terminate()
        process.wait(timeout=10)
    latencies.sort()
    return {
        "aids": aids,
        "database": "postgresql" if postgres else "sqlite",
        "first_sync_s": round(timings[0], 2),
        "second_sync_s": round(timings[1], 2),
        "first": {k: counts[0].get(k) for k in ("pages", "inserted", "updated", "unchanged", "expired")},
        "second_written": counts[1].get("inserted", 0)
        + counts[1].get("updated", 0)
        + counts[1].get("expired", 0),
        "search_hits": found,
        "search_p50_ms": round(statistics.median(latencies), 2),
        "search_p95_ms": round(latencies[int(len(latencies) * 0.95)], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--aids", default="2000,10000", help="catalogue sizes, comma-separated")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child: one size, JSON on stdout
    arguments = parser.parse_args()
    if arguments.one:
        print(json.dumps(asyncio.run(measure(arguments.one, arguments.postgres))))
        return
    rows = []
    for size in (int(n) for n in arguments.aids.split(",")):
        command = [sys.executable, __file__, "--one", str(size)]
        command += ["--postgres", arguments.postgres] if arguments.postgres else []
        child = subprocess.run(command, capture_output=True, text=True, check=True, env=os.environ.copy())
        rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
        row = rows[-1]
        print(
            f"{row['database']:10} {row['aids']:>6} aids: first sync {row['first_sync_s']:6.2f} s "
            f"({row['first']['pages']} pages), second {row['second_sync_s']:5.2f} s writing "
            f"{row['second_written']}, search p50 {row['search_p50_ms']} ms p95 {row['search_p95_ms']} ms "
            f"({row['search_hits']} hits), peak RSS {row['peak_rss_mb']} MB"
        )
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"aids-{time.strftime('%Y%m%d-%H%M%S')}.json"
    target.write_text(json.dumps(rows, indent=2))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
