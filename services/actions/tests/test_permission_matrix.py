"""The actions permission matrix is complete: every route the app serves is called by every kind of caller
in a matrix test that asserts each one's status (`permission_matrix.covers`); and the matrix of the jobs'
routes, which no module of its own has (admins only)."""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx

from planeco_shared.testing import identity_headers

from .permission_matrix import CALLER_KINDS, REGISTRY, covers, served_routes

HERE = Path(__file__).parent
JOBS = "/api/v1/jobs/actions"


def matrix_coverage() -> dict[str, set[str]]:
    """Route → the kinds of caller the matrix tests call it as, over every test module of the service
    (imported here: run alone, this test still sees them all)."""
    for path in sorted(HERE.glob("test_*.py")):
        importlib.import_module(f"{__package__}.{path.stem}")
    coverage: dict[str, set[str]] = {}
    for declared in REGISTRY.values():
        for route in declared.routes:
            coverage.setdefault(route, set()).update(declared.callers)
    return coverage


def test_every_actions_route_has_a_matrix_row() -> None:
    coverage = matrix_coverage()
    served = served_routes()
    assert sorted(served - set(coverage)) == [], "routes without a row in the permission matrix"
    assert sorted(set(coverage) - served) == [], "rows for routes the actions app does not serve"
    partial = {route: sorted(set(CALLER_KINDS) - kinds) for route, kinds in coverage.items()}
    assert {route: kinds for route, kinds in partial.items() if kinds} == {}, "callers without a row"


@covers(
    "GET /jobs/actions",
    "GET /jobs/actions/runs",
    "POST /jobs/actions/runs",
    "GET /jobs/actions/runs/{run_id}",
)
async def test_jobs_are_for_admins_only(client: httpx.AsyncClient) -> None:
    admin = identity_headers("admin")
    refused = {
        "centre": (identity_headers("coordinator", "24"), 403),
        "loiret": (identity_headers("coordinator", "departement:45"), 403),
        "occitanie": (identity_headers("coordinator", "76"), 403),
        "orleans": (identity_headers("contributor", "45234"), 403),
        "reader": (identity_headers("reader"), 403),
        "anonymous": (identity_headers("anonymous"), 401),
    }
    start = {"job": "purge-idempotency-keys"}  # quick, and needs no upstream
    for name, (headers, status) in refused.items():
        attempt = await client.post(f"{JOBS}/runs", json=start, headers=headers)
        assert attempt.status_code == status, (name, attempt.text)
    assert (await client.get(f"{JOBS}/runs", headers=admin)).json()["total"] == 0  # a refusal starts none
    started = await client.post(f"{JOBS}/runs", json=start, headers=admin)
    assert started.status_code == 202, started.text
    run = started.headers["location"]
    assert run == f"{JOBS}/runs/{started.json()['id']}"
    for name, (headers, status) in {"admin": (admin, 200), **refused}.items():
        for url in (JOBS, f"{JOBS}/runs", run):
            response = await client.get(url, headers=headers)
            assert response.status_code == status, (name, url, response.text)
