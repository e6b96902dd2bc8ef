"""The actions service's permission matrix, and what keeps it complete.

The matrix is the per-module tests that call routes as every kind of caller and assert each one's status
(`test_action_rights.py`, `test_followups.py`, `test_roadmaps.py`…). Each says which routes it covers:

    @covers("GET /actions/{action_id}", "PATCH /actions/{action_id}", …)
    async def test_who_reads_and_changes_an_action(client: httpx.AsyncClient) -> None: …

While it runs, every response its `client` gets is recorded as (route, kind of caller), the route found
among those the app serves, the caller from the identity the request carried. At its end, each route it
names must have been called by each kind of caller (`CALLER_KINDS`, or those it names): a declaration
cannot claim more than the test does. `test_permission_matrix.py::test_every_actions_route_has_a_matrix_row`
fails on a route the app serves that no matrix test covers for every kind of caller, and on a route named
that the app does not serve. The statuses are the tests' own assertions, next to the calls.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from re import Pattern

import httpx
from starlette.routing import compile_path

from planeco_actions.app import create_app
from planeco_actions.settings import ActionsSettings
from planeco_shared.identity import IDENTITY_HEADER, Role, decode_identity
from planeco_shared.routing import iter_routes
from planeco_shared.testing import TEST_SECRET, settings_for_tests

API = "/api/v1"
# The kinds of caller every route is called by, named by what the matrix tests' subject is: the
# Centre-Val de Loire (24), its Loiret (45), their actions, groups, roadmaps.
CALLER_KINDS = (
    "admin",
    "region_coordinator",  # coordinator of the Centre-Val de Loire
    "departement_coordinator",  # coordinator of one of its départements (the Loiret, the Cher…)
    "other_region_coordinator",  # coordinator of another région (Occitanie) or of one of its départements
    "contributor",
    "reader",
    "anonymous",
)
CENTRE_VAL_DE_LOIRE = "24"
ITS_DEPARTEMENTS = frozenset({"18", "28", "36", "37", "41", "45"})
# Served by every service the same way (planeco_shared.health, the app factory's /openapi.json), outside
# /api/v1 and the public contract, never reached through the gateway (its public /metrics is a 404,
# tests/test_gateway.py; a service's /openapi.json needs the gateway's signed identity,
# tests/test_gateway_http.py): no caller kind changes what they answer, so no row here.
PLATFORM_ROUTES = frozenset({"GET /healthz", "GET /readyz", "GET /metrics", "GET /openapi.json"})

Test = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Coverage:
    routes: frozenset[str]
    callers: frozenset[str]


# Test ("module::name") → what it covers; filled as the test modules are imported.
REGISTRY: dict[str, Coverage] = {}


@functools.cache
def _app_routes() -> tuple[frozenset[str], tuple[tuple[str, str, Pattern[str]], ...]]:
    """Every (method, path) the actions app serves, as "GET /path"; and the /api/v1 ones with their path
    regex, to find the route of a request."""
    app = create_app(settings_for_tests(ActionsSettings, "sqlite+aiosqlite://"))
    served: set[str] = set()
    patterns: list[tuple[str, str, Pattern[str]]] = []
    for route in iter_routes(app):
        path = getattr(route, "path", None)
        for method in getattr(route, "methods", None) or ():
            assert isinstance(path, str), route
            served.add(f"{method} {path}")
            if path.startswith(f"{API}/"):
                patterns.append((method, path.removeprefix(API), compile_path(path)[0]))
    return frozenset(served), tuple(patterns)


def served_routes() -> frozenset[str]:
    """The routes of the API the matrix must cover, below /api/v1: "GET /actions/{action_id}"…"""
    served, _patterns = _app_routes()
    platform = {route for route in served if not route.split(" ", 1)[1].startswith(f"{API}/")}
    assert platform == PLATFORM_ROUTES, f"routes outside {API} to judge: {sorted(platform ^ PLATFORM_ROUTES)}"
    return frozenset(
        f"{method} {path.removeprefix(API)}"
        for method, path in (route.split(" ", 1) for route in served - platform)
    )


def route_of(method: str, path: str) -> str | None:
    """The route a request reaches ("GET /actions/{action_id}"): of the routes whose path matches, the one
    with the most literal segments (as the app orders them: /actions/overdue before /actions/{action_id})."""
    _served, patterns = _app_routes()
    matching = [template for m, template, regex in patterns if m == method and regex.match(path) is not None]
    if not matching:
        return None
    literal = {template: sum("{" not in part for part in template.split("/")) for template in matching}
    best = [template for template in matching if literal[template] == max(literal.values())]
    assert len(best) == 1, f"{method} {path}: which of {best}?"
    return f"{method} {best[0]}"


def caller_kind(headers: Mapping[str, str]) -> str | None:
    """The kind of caller a request's forwarded identity names (None without one)."""
    token = headers.get(IDENTITY_HEADER)
    if token is None:
        return None
    principal = decode_identity(token, TEST_SECRET)
    if principal.role is Role.coordinator:
        territory = principal.territory or ""
        if territory == CENTRE_VAL_DE_LOIRE:
            return "region_coordinator"
        level, _, code = territory.partition(":")
        inside = level == "departement" and code in ITS_DEPARTEMENTS
        return "departement_coordinator" if inside else "other_region_coordinator"
    return principal.role.value


def covers(*routes: str, callers: Iterable[str] = CALLER_KINDS) -> Callable[[Test], Test]:
    """Declare a matrix test: the routes it calls as each of `callers`, asserting each one's status.
    The test takes the `client` fixture; its calls through it are checked against the declaration."""
    kinds = frozenset(callers)
    assert kinds <= set(CALLER_KINDS), kinds - set(CALLER_KINDS)
    for route in routes:
        method, _, path = route.partition(" ")
        assert method.isupper() and path.startswith("/") and not path.startswith(API), route

    def decorate(test: Test) -> Test:
        assert "client" in inspect.signature(test).parameters, test
        REGISTRY[f"{test.__module__}::{test.__qualname__}"] = Coverage(frozenset(routes), kinds)

        @functools.wraps(test)
        async def run(*args: object, **kwargs: object) -> None:
            client = kwargs["client"]
            assert isinstance(client, httpx.AsyncClient)
            seen: set[tuple[str, str]] = set()

            async def record(response: httpx.Response) -> None:
                route = route_of(response.request.method, response.request.url.path)
                kind = caller_kind(response.request.headers)
                if route is not None and kind is not None:
                    seen.add((route, kind))

            hooks = client.event_hooks["response"]
            hooks.append(record)
            try:
                await test(*args, **kwargs)
            finally:
                hooks.remove(record)
            missing = {(route, kind) for route in routes for kind in kinds} - seen
            assert not missing, f"declared but not called: {sorted(missing)}"

        return run

    return decorate
