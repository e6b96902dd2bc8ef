"""End to end: the four real processes on loopback (the database PLANECO_TEST_DATABASE selects:
PostgreSQL in CI's second run), driven through the gateway with an API key from the real CLI."""

from __future__ import annotations

import random
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from planeco.devstack import SERVICES, ServiceSpec, stack_env, start_process, stop_processes, wait_healthy
from planeco_shared.testing import fresh_database_url

pytestmark = pytest.mark.e2e
PLANECO = str(Path(sys.executable).with_name("planeco"))


def free_base_port() -> int:
    """A base port with the three next ones free too (the services take base+1..base+3).

    Drawn below Linux's ephemeral range (32768+), where outgoing connections leave ports in TIME_WAIT,
    and probed with SO_REUSEADDR as uvicorn binds."""
    for _ in range(200):
        base = random.randrange(20000, 32000)
        try:
            for port in range(base, base + 4):
                with socket.socket() as probe:
                    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no four consecutive free ports")


def cli(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [PLANECO, *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, f"planeco {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


class Stack:
    def __init__(self, base_port: int, env: dict[str, str]) -> None:
        self.base_port = base_port
        self.env = env
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.base_port}"

    def start(self, spec: ServiceSpec) -> None:
        process = start_process(spec, self.env, base_port=self.base_port)
        self.processes[spec.name] = process
        wait_healthy(f"http://127.0.0.1:{self.base_port + spec.offset}/healthz", [process])

    def stop(self, name: str) -> None:
        stop_processes([self.processes.pop(name)])


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("e2e")
    urls = {spec.name: fresh_database_url(f"e2e_{spec.name}", tmp) for spec in SERVICES}
    base_port = free_base_port()
    # A loaded CI host must not turn a slow read into a 504 (a stopped service is refused at once anyway).
    env = stack_env(urls, f"e2e-{uuid.uuid4().hex}", base_port) | {"PLANECO_GATEWAY_UPSTREAM_TIMEOUT": "60"}
    for spec in SERVICES:
        cli(spec.name, "migrate", env=env)
    cli("levers", "run-job", "reference-data", env=env)  # recorded in the levers job_runs
    running = Stack(base_port, env)
    try:
        for spec in SERVICES:
            running.start(spec)
        yield running
    finally:
        stop_processes(list(running.processes.values()))


def test_through_the_gateway_with_a_key_from_the_cli(stack: Stack) -> None:
    key = cli("auth", "create-key", "--role", "admin", "--label", "e2e", env=stack.env)
    assert key.startswith("planeco_")
    with httpx.Client(base_url=stack.gateway, timeout=60) as client:
        health = client.get("/healthz").json()
        assert health == {"status": "ok", "services": {"levers": "ok", "diagnostic": "ok", "actions": "ok"}}

        action = {
            "title": "Rénovation des lycées",
            "territory": {"level": "region", "code": "24"},
            "carriers": [{"kind": "collectivite", "territory": {"level": "region", "code": "24"}}],
            "start_date": "2025-01-01",
        }
        unauthenticated = client.post("/api/v1/actions", json=action)
        assert unauthenticated.status_code == 401
        assert unauthenticated.headers["content-type"] == "application/problem+json"

        created = client.post("/api/v1/actions", json=action, headers={"X-API-Key": key})
        assert created.status_code == 201, created.text
        read = client.get(created.headers["location"], headers={"X-API-Key": key})
        assert read.status_code == 200
        assert read.json()["title"] == "Rénovation des lycées"
        assert read.json()["created_by"].startswith("apikey:")

        missing = client.get(f"/api/v1/actions/{uuid.uuid4()}", headers={"X-API-Key": key})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert client.get("/api/v1/does-not-exist").status_code == 404

        regions = client.get("/api/v1/territories/regions")
        assert regions.status_code == 200
        assert regions.json()["total"] == 18
        assert "server" not in regions.headers  # `planeco <service> serve`: no "Server: uvicorn"
        assert "server" not in created.headers

        spec = {s.name: s for s in SERVICES}["actions"]
        stack.stop("actions")
        try:
            down = client.get("/api/v1/actions", headers={"X-API-Key": key})
            assert down.status_code == 503
            assert down.headers["content-type"] == "application/problem+json"
            assert client.get("/api/v1/territories/regions").status_code == 200
            assert client.get("/healthz").json()["services"]["actions"] == "down"
        finally:
            stack.start(spec)
        assert client.get("/api/v1/actions", headers={"X-API-Key": key}).json()["total"] == 1


def test_planeco_cli_refuses_bad_key_requests(stack: Stack) -> None:
    result = subprocess.run(
        [PLANECO, "auth", "create-key", "--role", "coordinator"],
        env=stack.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "territory" in result.stderr


def test_services_refuse_calls_that_bypass_the_gateway(stack: Stack) -> None:
    levers = {s.name: s for s in SERVICES}["levers"]
    direct = httpx.get(
        f"http://127.0.0.1:{stack.base_port + levers.offset}/api/v1/territories/regions", timeout=5
    )
    assert direct.status_code == 401
    assert "server" not in direct.headers
    contract = httpx.get(f"http://127.0.0.1:{stack.base_port + levers.offset}/openapi.json", timeout=5)
    assert contract.status_code == 401  # the gateway's merged one is public, a service's own is not
    assert httpx.get(f"{stack.gateway}/openapi.json", timeout=10).json()["paths"]
