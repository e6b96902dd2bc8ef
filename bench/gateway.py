"""What the gateway hop costs: the same authenticated read, direct to the service vs through the gateway.

    .venv/bin/python bench/gateway.py [--postgres postgresql+asyncpg://postgres@127.0.0.1:5432]

Starts the real processes on 127.0.0.1 (fresh PostgreSQL databases planeco_bench_levers and
planeco_bench_gateway, migrated, territories imported, an admin API key created), then drives them with
wrk (`apt-get install -y wrk`; a Python load generator otherwise), GET /api/v1/territories/regions/24:

  bare          a bare ASGI callable under uvicorn answering a small JSON object: the floor;
  direct        the levers service, with the `x-planeco-identity` the gateway would forward (signed
                with the internal secret), so the service does exactly the same work;
  gateway       the gateway with `X-API-Key` (checked, cached), forwarding to that same service;
  gateway>bare  a second gateway forwarding to the bare callable: the hop's own cost, no database;

at 1, 4, 32 and 64 connections (each run repeated, interleaved, medians reported), then a 30 s soak
through the gateway at 64 connections. The levers service and the gateway run as in production
(`planeco <service> serve`: uvloop, httptools, one write per response), one process each unless
--levers-workers / --gateway-workers say otherwise. `--compare-clients` adds minimal forwarders to
the bare callable on httpx, aiohttp and raw asyncio (bench/forwarders.py). Prints a table, the
ratios and the goals, writes bench/results/gateway-<time>.json, and stops every process it started
by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
RESULTS = BENCH / "results"
BIN = Path(sys.executable).parent
DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PATH = "/api/v1/territories/regions/24"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
HTTP_PROTOCOL = "planeco_shared.server:CoalescingHttpToolsProtocol"  # what `planeco <service> serve` uses


@dataclass
class Run:
    target: str
    connections: int
    seconds: float
    requests: int = 0
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    errors: int = 0  # socket errors (connect/read/write) and non-2xx/3xx responses
    timeouts: int = 0
    tool: str = ""
    cpu_us_per_request: dict[str, float] = field(default_factory=dict)  # per server process tree


@dataclass
class Server:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def cpu_seconds(self) -> float:
        """User + system CPU of the process and its children (uvicorn workers)."""
        total = 0.0
        pids = [self.process.pid]
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[1]) == self.process.pid:
                    pids.append(int(entry.name))
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
        return total


@dataclass
class Stack:
    servers: list[Server] = field(default_factory=list)

    def start(self, name: str, command: list[str], env: dict[str, str], port: int) -> Server:
        log = RESULTS / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("wb") as out:
            # own session: a Ctrl-C in the terminal reaches us only, and we stop them by PID
            process = subprocess.Popen(
                command, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        server = Server(name, f"http://127.0.0.1:{port}", process, log)
        self.servers.append(server)
        return server

    def serve(self, name: str, service: str, port: int, env: dict[str, str], workers: int) -> Server:
        """As production runs it: `planeco <service> serve` (uvloop, httptools, one write per response)."""
        command = [str(BIN / "planeco"), service, "serve", "--host", "127.0.0.1", "--port", str(port)]
        return self.start(name, [*command, "--workers", str(workers)], env, port)

    def uvicorn(self, name: str, app: str, port: int, env: dict[str, str], *, http: str = "auto") -> Server:
        """A plain `uvicorn` (the reference floor), or with `http` set like the services."""
        command = [
            str(BIN / "python"), "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
            "--no-access-log", "--log-level", "warning", "--app-dir", str(BENCH), "--http", http,
        ]  # fmt: skip
        return self.start(name, command, env, port)

    def stop(self) -> None:
        for server in self.servers:
            if server.process.poll() is None:
                server.process.send_signal(signal.SIGTERM)  # uvicorn's supervisor stops its own workers
        for server in self.servers:
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)  # its own group: it and its workers only
                server.process.wait(timeout=5)
        self.servers.clear()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 (loopback URLs we built)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def wait_ready(server: Server, path: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited during start-up; see {server.log}")
        try:
            if http_get(server.url + path)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not become ready in {timeout:.0f}s; see {server.log}")


def run_cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [str(BIN / "planeco"), *args], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"planeco {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout.strip()


async def recreate_databases(server: str, names: list[str]) -> dict[str, str]:
    import asyncpg  # type: ignore[import-untyped]
    from sqlalchemy.engine import make_url

    parsed = make_url(server)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin)
    urls = {}
    try:
        for name in names:
            database = f"planeco_bench_{name}"
            await connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await connection.execute(f'CREATE DATABASE "{database}"')
            urls[name] = parsed.set(database=database).render_as_string(hide_password=False)
    finally:
        await connection.close()
    return urls


# --- load generation -------------------------------------------------------------------------------

_WRK_LATENCY = re.compile(r"^\s+(50|99)(?:\.000)?%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def parse_wrk(output: str, run: Run) -> Run:
    for percentile, value, unit in _WRK_LATENCY.findall(output):
        setattr(run, "p50_ms" if percentile == "50" else "p99_ms", float(value) * _UNITS[unit])
    if match := re.search(r"(\d+) requests in", output):
        run.requests = int(match.group(1))
    if match := re.search(r"Requests/sec:\s+([\d.]+)", output):
        run.rps = float(match.group(1))
    if match := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        run.errors += int(match.group(1)) + int(match.group(2)) + int(match.group(3))
        run.timeouts += int(match.group(4))
    if match := re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        run.errors += int(match.group(1))
    return run


def wrk(url: str, headers: dict[str, str], run: Run, threads: int) -> Run:
    command = ["wrk", "-t", str(min(threads, run.connections)), "-c", str(run.connections),
               "-d", f"{run.seconds:g}s", "--latency", "--timeout", "5s"]  # fmt: skip
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=run.seconds + 60
    )
    run.tool = "wrk"
    return parse_wrk(done.stdout, run)


async def _python_load(url: str, headers: dict[str, str], run: Run) -> Run:
    """Fallback when wrk is absent: keep-alive connections on raw asyncio streams. Slower than wrk and
    it takes CPU from the servers: its figures are lower bounds, compare them only with each other."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    lines = [f"GET {parts.path} HTTP/1.1", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + run.seconds
    latencies: list[float] = []

    async def read_response(reader: asyncio.StreamReader) -> int:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        fields = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(b":") for h in head.split(b"\r\n")[1:])
        }
        if b"content-length" in fields:
            await reader.readexactly(int(fields[b"content-length"]))
        elif fields.get(b"transfer-encoding") == b"chunked":
            while (size := int((await reader.readline()).strip(), 16)) > 0:
                await reader.readexactly(size + 2)
            await reader.readline()
        return status

    async def worker() -> None:
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while loop.time() < deadline:
            try:
                if connection is None:
                    connection = await asyncio.open_connection(host, port)
                reader, writer = connection
                started = time.perf_counter()
                writer.write(request)
                status = await asyncio.wait_for(read_response(reader), 5.0)
                latencies.append(time.perf_counter() - started)
                if not 200 <= status < 400:
                    run.errors += 1
            except TimeoutError:
                run.timeouts += 1
                connection = None
            except (OSError, asyncio.IncompleteReadError, ValueError):
                run.errors += 1
                connection = None
        if connection is not None:
            connection[1].close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(run.connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    run.requests = len(latencies)
    run.rps = len(latencies) / elapsed
    if latencies:
        run.p50_ms = latencies[len(latencies) // 2] * 1000
        run.p99_ms = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000
    run.tool = "python"
    return run


@dataclass
class Target:
    name: str
    url: str
    headers: Callable[[], dict[str, str]]  # fresh each run (the signed identity lives 120 s)
    servers: list[Server]  # whose CPU is accounted


def load(tool: str, target: Target, connections: int, seconds: float, threads: int) -> Run:
    run = Run(target=target.name, connections=connections, seconds=seconds)
    before = {s.name: s.cpu_seconds() for s in target.servers}
    if tool == "wrk":
        wrk(target.url, target.headers(), run, threads)
    else:
        asyncio.run(_python_load(target.url, target.headers(), run))
    if run.requests:
        for server in target.servers:
            used = server.cpu_seconds() - before[server.name]
            run.cpu_us_per_request[server.name] = round(used / run.requests * 1e6, 1)
    return run


# --- the benchmark --------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    memory = re.search(r"MemTotal:\s*(\d+) kB", meminfo)
    wrk_version = ""
    if shutil.which("wrk"):
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
        wrk_version = ((done.stdout + done.stderr).splitlines() or [""])[0]
    return {
        "nproc": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "memory_gib": round(int(memory.group(1)) / 1024 / 1024, 1) if memory else None,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": wrk_version,
        "loadavg_before": os.getloadavg(),
    }


def identity_for(key: str, secret: str) -> str:
    """What the gateway forwards for this API key (same claims, fresh signature)."""
    from planeco_shared.identity import AuthMethod, Principal, Role, encode_identity

    key_id = key.split("_")[1]
    principal = Principal(
        subject=f"apikey:{key_id}", role=Role.admin, name="bench", method=AuthMethod.api_key
    )
    return encode_identity(principal, secret)


def check_behaviour(gateway: str, direct: str, key: str, secret: str) -> str:
    """The numbers mean something only if both paths answer the same thing, with auth on."""
    status, headers, body = http_get(gateway + PATH, {"X-API-Key": key})
    assert status == 200, f"gateway answered {status}: {body[:200]!r}"
    d_status, d_headers, d_body = http_get(direct + PATH, {"x-planeco-identity": identity_for(key, secret)})
    assert d_status == 200 and json.loads(d_body) == json.loads(body), "direct and gateway answers differ"
    assert http_get(direct + PATH)[0] == 401, "the service must refuse calls without a signed identity"
    assert http_get(gateway + PATH, {"X-API-Key": key[:-2] + "xx"})[0] == 401, "a wrong key must be refused"
    etag = headers.get("etag")
    assert etag and etag == d_headers.get("etag"), "the gateway must pass the ETag through"
    status, headers, body = http_get(gateway + PATH, {"X-API-Key": key, "If-None-Match": etag})
    assert status == 304 and body == b"" and headers.get("etag") == etag, "the gateway must pass 304 through"
    return (
        f"checked: same {len(d_body)}-byte JSON both ways; 401 without identity and with a wrong key;"
        f" ETag {etag} and 304 pass through the gateway"
    )


def medians(runs: list[Run]) -> list[Run]:
    grouped: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        grouped.setdefault((run.target, run.connections), []).append(run)
    summary = []
    for (target, connections), group in grouped.items():
        cpu_keys = {k for r in group for k in r.cpu_us_per_request}
        summary.append(
            Run(
                target=target,
                connections=connections,
                seconds=sum(r.seconds for r in group),
                requests=sum(r.requests for r in group),
                rps=statistics.median(r.rps for r in group),
                p50_ms=statistics.median(r.p50_ms for r in group),
                p99_ms=statistics.median(r.p99_ms for r in group),
                errors=sum(r.errors for r in group),
                timeouts=sum(r.timeouts for r in group),
                tool=group[0].tool,
                cpu_us_per_request={
                    k: statistics.median(r.cpu_us_per_request.get(k, 0.0) for r in group)
                    for k in sorted(cpu_keys)
                },
            )
        )
    return summary


def ratios(summary: list[Run]) -> dict[str, float]:
    by = {(r.target, r.connections): r for r in summary}
    out: dict[str, float] = {}
    for (target, connections), run in sorted(by.items(), key=lambda item: item[0][1]):
        direct, bare = by.get(("direct", connections)), by.get(("bare", connections))
        if target == "gateway" and direct and direct.rps:
            out[f"gateway/direct rps @{connections}"] = round(run.rps / direct.rps, 3)
            out[f"added p50 ms @{connections}"] = round(run.p50_ms - direct.p50_ms, 3)
            out[f"added p99 ms @{connections}"] = round(run.p99_ms - direct.p99_ms, 3)
        if target != "bare" and bare and bare.rps:
            out[f"{target}/bare rps @{connections}"] = round(run.rps / bare.rps, 3)
    return out


def table(runs: list[Run]) -> str:
    header = (
        f"{'target':<14}{'conns':>6}{'secs':>6}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}{'t/o':>5}"
    )
    lines = [header + "  CPU µs/request"]
    for r in runs:
        cpu = ", ".join(f"{k} {v:g}" for k, v in r.cpu_us_per_request.items())
        lines.append(
            f"{r.target:<14}{r.connections:>6}{r.seconds:>6g}{r.rps:>10,.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.errors:>7}{r.timeouts:>5}  {cpu}"
        )
    return "\n".join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--postgres", default=os.environ.get("PLANECO_BENCH_POSTGRES", DEFAULT_POSTGRES))
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each measured run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per target and connection count")
    parser.add_argument("--soak", type=float, default=30.0, help="length of the 64-connection soak (0: none)")
    parser.add_argument("--connections", default="1,4,32,64")
    parser.add_argument("--levers-workers", type=int, default=1)
    parser.add_argument("--gateway-workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (wrk shares the cores too)")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--no-hop", action="store_true", help="skip the gateway>bare target")
    parser.add_argument("--compare-clients", action="store_true", help="add httpx/aiohttp/raw forwarders")
    parser.add_argument("--label", default="", help="free text stored with the results")
    parser.add_argument("--serve", type=float, default=0, help="only start the stack, keep it up N s")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "python")
    if tool == "python":
        print("wrk not found (apt-get install -y wrk): falling back to the slower Python load generator")
    connections = [int(c) for c in args.connections.split(",")]

    RESULTS.mkdir(parents=True, exist_ok=True)
    urls = asyncio.run(recreate_databases(args.postgres, ["levers", "gateway"]))
    secret = secrets.token_urlsafe(32)
    names = ("levers", "gateway", "bare", "hop", "httpx", "aiohttp", "raw")
    ports = {name: free_port() for name in names}
    env = dict(os.environ)
    env.update(
        {
            "PLANECO_LEVERS_DATABASE_URL": urls["levers"],
            "PLANECO_GATEWAY_DATABASE_URL": urls["gateway"],
            "PLANECO_LEVERS_INTERNAL_SECRET": secret,
            "PLANECO_GATEWAY_INTERNAL_SECRET": secret,
            "PLANECO_GATEWAY_LEVERS_URL": f"http://127.0.0.1:{ports['levers']}",
            "PLANECO_LEVERS_LOG_JSON": "false",
            "PLANECO_GATEWAY_LOG_JSON": "false",
            "PLANECO_LEVERS_LOG_LEVEL": "WARNING",
            "PLANECO_GATEWAY_LOG_LEVEL": "WARNING",
            # One key at thousands of requests per second: limits that never refuse, still counted per
            # request as in production (the in-memory storage), so the table includes their cost.
            "PLANECO_GATEWAY_RATE_LIMIT_AUTHENTICATED": "1000000000/minute",
            "PLANECO_GATEWAY_RATE_LIMIT_ANONYMOUS": "1000000000/minute",
            "BENCH_UPSTREAM": f"http://127.0.0.1:{ports['bare']}",
            "BENCH_SECRET": secret,
        }
    )
    print("databases:", ", ".join(urls.values()))
    print(run_cli(["levers", "migrate"], env), "(levers);", run_cli(["gateway", "migrate"], env), "(gateway)")
    print(run_cli(["levers", "import-territories"], env))
    key = run_cli(["auth", "create-key", "--role", "admin", "--label", "bench"], env).splitlines()[-1]

    stack = Stack()
    runs: list[Run] = []
    info = machine()
    started_at = time.monotonic()
    try:
        bare = stack.uvicorn("bare", "bare:app", ports["bare"], env)
        levers = stack.serve("levers", "levers", ports["levers"], env, args.levers_workers)
        gateway = stack.serve("gateway", "gateway", ports["gateway"], env, args.gateway_workers)
        for server, path in ((bare, "/"), (levers, "/readyz"), (gateway, "/readyz")):
            wait_ready(server, path)
        targets = [
            Target("bare", bare.url + "/", dict, [bare]),
            Target(
                "direct",
                levers.url + PATH,
                lambda: {"x-planeco-identity": identity_for(key, secret)},
                [levers],
            ),
            Target("gateway", gateway.url + PATH, lambda: {"X-API-Key": key}, [gateway, levers]),
        ]
        if not args.no_hop:
            hop_env = env | {"PLANECO_GATEWAY_LEVERS_URL": bare.url}
            hop = stack.serve("hop", "gateway", ports["hop"], hop_env, args.gateway_workers)
            wait_ready(hop, "/readyz")
            targets.append(Target("gateway>bare", hop.url + PATH, lambda: {"X-API-Key": key}, [hop, bare]))
        if args.compare_clients:  # served like the gateway, so that only the client differs
            for name in ("httpx", "aiohttp", "raw"):
                server = stack.uvicorn(name, f"forwarders:{name}_app", ports[name], env, http=HTTP_PROTOCOL)
                wait_ready(server, PATH)
                targets.append(Target(f"{name}>bare", server.url + PATH, dict, [server, bare]))
        print("pids:", ", ".join(f"{s.name}={s.process.pid}" for s in stack.servers))
        print(check_behaviour(gateway.url, levers.url, key, secret))
        if args.serve:
            print(f"serving {args.serve:g}s: gateway {gateway.url}, levers {levers.url}, bare {bare.url}")
            print(f"X-API-Key: {key}\nx-planeco-identity: {identity_for(key, secret)}", flush=True)
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            time.sleep(args.serve)
            return 0

        for target in targets:  # warm-up: pools, caches, first-call imports
            load(tool, target, 32, 2, args.threads)
        print(table([]).splitlines()[0])
        for _ in range(args.repeat):  # interleaved, so that a noisy moment hits every target alike
            for count in connections:
                for target in targets:
                    run = load(tool, target, count, args.seconds, args.threads)
                    runs.append(run)
                    print(table([run]).splitlines()[1], flush=True)
        if args.soak:
            run = load(tool, targets[2], 64, args.soak, args.threads)
            run.target = "gateway soak"
            runs.append(run)
            print(table([run]).splitlines()[1], flush=True)
        for server in stack.servers:
            if server.process.poll() is not None:
                raise RuntimeError(f"{server.name} died during the runs; see {server.log}")
    finally:
        stack.stop()

    summary = medians(runs)
    found = ratios(summary)
    soak = next((r for r in runs if r.target == "gateway soak"), None)
    print(f"\nmachine: {info['nproc']} cores, {info['cpu']}, {info['memory_gib']} GiB RAM")
    print(f"load average before {info['loadavg_before']}, after {os.getloadavg()}")
    print(
        f"processes: levers x{args.levers_workers}, gateway x{args.gateway_workers}; Python {info['python']}"
    )
    print(
        f"load: {tool} with {args.threads} thread(s); {args.repeat} x {args.seconds:g} s per point (medians)"
    )
    print(table(summary))
    print()
    for name, value in found.items():
        print(f"{name:<30}{value}")
    goals = {
        "gateway >= 60% of direct req/s at every connection count": all(
            v >= 0.6 for k, v in found.items() if k.startswith("gateway/direct")
        ),
        "added p50 <= 0.5 ms at 4 connections": found.get("added p50 ms @4", 99.0) <= 0.5,
        "soak (64 connections): no error, no timeout": soak is not None and soak.errors + soak.timeouts == 0,
    }
    print()
    for goal, met in goals.items():
        print(f"{'MET ' if met else 'MISS'} {goal}")
    out = RESULTS / f"gateway-{time.strftime('%Y%m%d-%H%M%S')}.json"
    document = {
        "label": args.label,
        "machine": info | {"loadavg_after": os.getloadavg()},
        "config": {k: v for k, v in vars(args).items() if k not in ("postgres", "serve")} | {"tool": tool},
        "path": PATH,
        "duration_s": round(time.monotonic() - started_at),
        "summary": [asdict(r) for r in summary],
        "ratios": found,
        "goals": goals,
        "runs": [asdict(r) for r in runs],
    }
    out.write_text(json.dumps(document, indent=2))
    print(f"\nwritten {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
