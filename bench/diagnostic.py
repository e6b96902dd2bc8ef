"""A diagnostic campaign at the scale of Occitanie, every collectivité including the communes, through the
gateway on PostgreSQL (issue 11).

    .venv/bin/python bench/diagnostic.py [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]
                                         [--concurrency 16] [--limit N]

1. Fresh databases (planeco_bench_levers / _diagnostic / _gateway), migrated; the levers reference data
   (COG 2026, the SGPE panoramas) and the default questionnaire loaded by their jobs, as `dev.py up` does.
2. Starts the levers and diagnostic services and the gateway (`planeco <service> serve`, one process each,
   stopped by PID), a coordinator key of Occitanie (76) and an admin key.
3. Creates the campaign: the région, its 13 départements, every EPCI and every commune (4,600+ invitees).
4. The coordinator issues every invitee's token at once, as the mail-merge file (CSV) a région sends
   its invitations from (timed apart: campaign set-up, not ingestion).
5. Ingests every response through the gateway as respondents do: the respondent saves all its answers
   (the default questionnaire's items for its type, generated from a fixed seed: pertinence,
   mobilisation, needs, quantities) with its token and submits. `--concurrency` respondents at a time.
6. Times, through the gateway: the stats (live); the full synthesis, kept (the same URL again: the answer
   the service built once for this data version) and cold (other thresholds on each read, so each is built
   from the answers); the exports (all answers as CSV, the synthesis as XLSX), sampling the diagnostic
   process's RSS. This machine's PostgreSQL runs without autovacuum, so these reads meet tables the planner
   has no statistics on; then ANALYZE (what autovacuum does in production) and the cold synthesis again.
Prints a table and writes bench/results/diagnostic-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import json
import os
import random
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from gateway import (
    DEFAULT_POSTGRES,
    RESULTS,
    Stack,
    free_port,
    machine,
    recreate_databases,
    run_cli,
    wait_ready,
)

REGION = "76"  # Occitanie: 13 départements, the most communes of any mainland région after Grand Est
SEED = 2026
EPCI_TYPES = {"metropole", "cu", "ca", "cc"}
PERTINENCES = ["pertinent"] * 6 + ["non_pertinent"] * 2 + ["a_discuter"] * 2
MOBILISATIONS = ["realise", "en_cours", "planifie", "envisage", "non_engage"]
NEEDS = ["ingenierie", "financement", "donnees", "formation", "reglementation", "autre"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="PostgreSQL server URL")
    parser.add_argument("--concurrency", type=int, default=16, help="Respondents answering at once")
    parser.add_argument("--limit", type=int, default=None, help="Answer for the first N invitees only")
    parser.add_argument("--repeat", type=int, default=20, help="Timed reads of each kind")
    return parser.parse_args()


def respondent_type(invitee_type: str) -> str:
    return "epci" if invitee_type in EPCI_TYPES else invitee_type


def answers_for(document: dict[str, Any], kind: str, rng: random.Random) -> dict[str, Any]:
    """Every item the questionnaire asks this type of respondent, answered."""
    answers: dict[str, Any] = {}
    for section in document["sections"]:
        for item in section["items"]:
            if kind not in (item.get("respondent_types") or [kind]):
                continue
            if item["kind"] == "action":
                answer: dict[str, Any] = {
                    "pertinence": rng.choice(PERTINENCES),
                    "mobilisation": rng.choice(MOBILISATIONS),
                    "needs": rng.sample(NEEDS, rng.randint(0, 2)),
                }
                if item.get("quantity") and answer["mobilisation"] in ("realise", "en_cours", "planifie"):
                    answer["quantity"] = str(rng.randint(0, 40))
                answers[item["key"]] = answer
            elif item["kind"] == "number":
                answers[item["key"]] = str(rng.randint(0, 5))
            elif item["kind"] == "single_choice":
                answers[item["key"]] = rng.choice(item["options"])["key"]
            elif item["kind"] == "multiple_choice":
                options = [option["key"] for option in item["options"]]
                answers[item["key"]] = rng.sample(options, rng.randint(1, min(3, len(options))))
            elif item["kind"] == "text":
                answers[item["key"]] = "Réponse générée pour le banc d'essai."
    return answers


async def checked(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in (expected or (200,)):
        raise RuntimeError(
            f"{response.request.method} {response.request.url} → {response.status_code}: {response.text}"
        )
    return response


async def all_invitees(
    http: httpx.AsyncClient, campaign: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    invitees: list[dict[str, Any]] = []
    page = 1
    while True:
        listed = await checked(
            await http.get(
                f"/api/v1/campaigns/{campaign}/invitees",
                params={"page": page, "page_size": 500},
                headers=headers,
            )
        )
        body = listed.json()
        invitees += body["items"]
        if len(invitees) >= body["total"] or not body["items"]:
            return invitees
        page += 1


def issue_tokens(gateway: str, campaign: str, coordinator: dict[str, str]) -> tuple[dict[str, str], float]:
    """Every invitee's token, from the mail-merge file (one request); (code → token, seconds)."""
    started = time.perf_counter()
    with httpx.Client(base_url=gateway, timeout=300, headers=coordinator) as http:
        issued = http.post(f"/api/v1/campaigns/{campaign}/invitation-tokens", params={"format": "csv"})
    seconds = time.perf_counter() - started
    if issued.status_code != 200:
        raise RuntimeError(f"tokens not issued: {issued.status_code} {issued.text}")
    # planeco's CSV: leading metadata lines (`#…`, or `"#…"` when quoted), then a `;`-separated table
    lines = [
        line
        for line in io.StringIO(issued.content.decode("utf-8-sig"))
        if not line.lstrip('"').startswith("#")
    ]
    rows = csv.DictReader(lines, delimiter=";")
    return {row["code"]: row["token"] for row in rows}, seconds


async def answer_one(
    http: httpx.AsyncClient, invitee: dict[str, Any], token: str, document: dict[str, Any]
) -> int:
    """Save every answer, submit: the requests one respondent costs (2)."""
    holder = {"X-Invitation-Token": token}
    rng = random.Random(f"{SEED}:{invitee['code']}")
    body = {"answers": answers_for(document, respondent_type(invitee["type"]), rng)}
    await checked(await http.patch("/api/v1/answer/response", json=body, headers=holder | {"If-Match": "*"}))
    await checked(await http.post("/api/v1/answer/response/submission", headers=holder))
    return 2


async def ingest(
    gateway: str,
    invitees: list[dict[str, Any]],
    tokens: dict[str, str],
    document: dict[str, Any],
    concurrency: int,
) -> dict[str, float]:
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for invitee in invitees:
        queue.put_nowait(invitee)
    requests = 0
    latencies: list[float] = []

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal requests
        while not queue.empty():
            invitee = queue.get_nowait()
            started = time.perf_counter()
            made = await answer_one(http, invitee, tokens[invitee["code"]], document)
            requests += made
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=gateway, timeout=120, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    return {
        "respondents": len(invitees),
        "requests": requests,
        "seconds": round(seconds, 2),
        "respondents_per_s": round(len(invitees) / seconds, 1),
        "respondent_p50_ms": round(statistics.median(latencies) * 1000, 1),
    }


class RssSampler:
    """Peak and samples of one process's resident memory (/proc), every 20 ms, while it runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(self.rss_kib())
            time.sleep(0.02)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


async def timed_reads(
    gateway: str, paths: dict[str, str | list[str]], headers: dict[str, str], repeat: int, pid: int
) -> dict[str, dict[str, Any]]:
    """Each read `repeat` times after a first one (its time is `first_ms`); a list of paths is read one
    path per repetition (the cold synthesis: other thresholds each time, so never an answer kept)."""
    results: dict[str, dict[str, Any]] = {}
    async with httpx.AsyncClient(base_url=gateway, timeout=300) as http:
        for name, path in paths.items():
            variants = path if isinstance(path, list) else [path]
            started = time.perf_counter()
            first = await http.get(variants[0], headers=headers)
            first_ms = round((time.perf_counter() - started) * 1000, 1)
            if first.status_code in (404, 405):  # a read this build does not have yet
                results[name] = {"status": first.status_code, "note": "not in this build"}
                continue
            await checked(first)
            times: list[float] = []
            before = RssSampler(pid).rss_kib()
            with RssSampler(pid) as sampler:
                for n in range(repeat):
                    started = time.perf_counter()
                    response = await http.get(variants[(n + 1) % len(variants)], headers=headers)
                    times.append(time.perf_counter() - started)
                    await checked(response)
            results[name] = {
                "first_ms": first_ms,
                "p50_ms": round(statistics.median(times) * 1000, 1),
                "max_ms": round(max(times) * 1000, 1),
                "bytes": len(response.content),
                "rss_before_mib": round(before / 1024, 1),
                "rss_peak_mib": round(max(sampler.samples or [before]) / 1024, 1),
            }
    return results


def main() -> int:
    args = parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    urls = asyncio.run(recreate_databases(args.postgres, ["levers", "diagnostic", "gateway"]))
    secret = secrets.token_urlsafe(32)
    ports = {name: free_port() for name in ("levers", "diagnostic", "gateway")}
    env = dict(os.environ) | {
        "PLANECO_LEVERS_DATABASE_URL": urls["levers"],
        "PLANECO_DIAGNOSTIC_DATABASE_URL": urls["diagnostic"],
        "PLANECO_GATEWAY_DATABASE_URL": urls["gateway"],
        "PLANECO_DIAGNOSTIC_LEVERS_URL": f"http://127.0.0.1:{ports['levers']}",
        "PLANECO_GATEWAY_LEVERS_URL": f"http://127.0.0.1:{ports['levers']}",
        "PLANECO_GATEWAY_DIAGNOSTIC_URL": f"http://127.0.0.1:{ports['diagnostic']}",
        # One client on loopback: measure the work, not the limiter.
        "PLANECO_GATEWAY_RATE_LIMIT_ENABLED": "false",
    }
    env |= {f"PLANECO_{name.upper()}_INTERNAL_SECRET": secret for name in ports}
    env |= {f"PLANECO_{name.upper()}_LOG_LEVEL": "WARNING" for name in ports}
    for service in ("levers", "diagnostic", "gateway"):
        run_cli([service, "migrate"], env)
    started = time.perf_counter()
    run_cli(["levers", "run-job", "reference-data"], env)
    print(f"reference data loaded in {time.perf_counter() - started:.1f} s", flush=True)
    coordinator = {
        "X-API-Key": run_cli(
            ["auth", "create-key", "--role", "coordinator", "--territory", REGION, "--label", "bench"], env
        ).splitlines()[-1]
    }

    stack = Stack()
    info = machine()
    document_out: dict[str, Any] = {"machine": info}
    try:
        servers = {name: stack.serve(name, name, port, env, 1) for name, port in ports.items()}
        for server in servers.values():
            wait_ready(server, "/readyz")
        run_cli(["diagnostic", "run-job", "import-default-questionnaire"], env)
        gateway = servers["gateway"].url
        with httpx.Client(base_url=gateway, timeout=120, headers=coordinator) as http:
            questionnaires = http.get("/api/v1/questionnaires", params={"page_size": 10}).json()["items"]
            questionnaire = questionnaires[0]["id"]
            document = http.get(f"/api/v1/questionnaires/{questionnaire}/document").json()
            today = dt.datetime.now(dt.UTC).date()
            created = http.post(
                "/api/v1/campaigns",
                json={
                    "questionnaire_id": questionnaire,
                    "owner": {"level": "region", "code": REGION},
                    "title": "Banc d'essai : diagnostic COP Occitanie, toutes les collectivités",
                    "opening_date": str(today - dt.timedelta(days=1)),
                    "closing_date": str(today + dt.timedelta(days=60)),
                    "panorama_version": "latest",
                    "invitees": {"communes": True},
                },
            )
            if created.status_code != 201:
                raise RuntimeError(f"campaign not created: {created.status_code} {created.text}")
            campaign = created.json()["id"]
            print(f"campaign {campaign}: {created.json()['invitee_counts']}", flush=True)
        invitees = asyncio.run(_invitees(gateway, campaign, coordinator))
        if args.limit:
            invitees = invitees[: args.limit]
        tokens, token_seconds = issue_tokens(gateway, campaign, coordinator)
        print(f"{len(tokens)} tokens issued (mail-merge file) in {token_seconds:.1f} s", flush=True)
        print(f"ingesting {len(invitees)} responses, {args.concurrency} at a time …", flush=True)
        ingestion = asyncio.run(ingest(gateway, invitees, tokens, document, args.concurrency))
        ingestion["tokens_seconds"] = round(token_seconds, 2)
        print(f"ingested: {ingestion}", flush=True)
        base = f"/api/v1/campaigns/{campaign}"
        cold = [f"{base}/synthesis?relevance_threshold=0.{n:02d}" for n in range(1, args.repeat + 2)]
        reads: dict[str, str | list[str]] = {
            "stats": f"{base}/stats",
            "synthesis (kept)": f"{base}/synthesis",
            "synthesis (cold)": cold,
            "answers export (CSV)": f"{base}/answers/export?format=csv",
            "synthesis export (XLSX)": f"{base}/synthesis/export?format=xlsx",
        }
        timed = asyncio.run(
            timed_reads(gateway, reads, coordinator, args.repeat, servers["diagnostic"].process.pid)
        )
        # What autovacuum does in production (this machine's PostgreSQL runs without it): then the cold
        # synthesis again, on other thresholds.
        asyncio.run(analyze(urls["diagnostic"]))
        analysed = [f"{base}/synthesis?engagement_threshold=0.{n:02d}" for n in range(1, args.repeat + 2)]
        timed |= asyncio.run(
            timed_reads(
                gateway,
                {"synthesis (cold, analysed)": analysed},
                coordinator,
                args.repeat,
                servers["diagnostic"].process.pid,
            )
        )
        document_out |= {
            "campaign": campaign,
            "invitees": len(invitees),
            "ingestion": ingestion,
            "reads": timed,
        }
    finally:
        stack.stop()

    print(
        f"\n{'read':<28}{'first ms':>10}{'p50 ms':>10}{'max ms':>10}{'bytes':>12}"
        f"{'RSS before → peak MiB':>26}"
    )
    for name, figures in document_out.get("reads", {}).items():
        if "p50_ms" not in figures:
            print(f"{name:<28}{figures['note']:>20}")
            continue
        rss = f"{figures['rss_before_mib']} → {figures['rss_peak_mib']}"
        print(
            f"{name:<28}{figures['first_ms']:>10}{figures['p50_ms']:>10}{figures['max_ms']:>10}"
            f"{figures['bytes']:>12}{rss:>26}"
        )
    print(f"\nmachine: {info['nproc']} cores, {info['cpu']}, {info['memory_gib']} GiB RAM")
    out = RESULTS / f"diagnostic-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(document_out | {"loadavg_after": os.getloadavg()}, indent=2))
    print(f"written {out}")
    return 0


async def analyze(url: str) -> None:
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(False))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def _invitees(gateway: str, campaign: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=gateway, timeout=120) as http:
        return await all_invitees(http, campaign, headers)


if __name__ == "__main__":
    sys.exit(main())
