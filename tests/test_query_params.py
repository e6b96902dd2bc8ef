"""Unknown query parameters are a 422 naming them (`planeco_shared.query_params`), on every operation of
the merged contract through the real gateway, on the gateway's own routes, and the typed clients send only
what the upstream declares."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from planeco_actions.app import create_app as create_actions
from planeco_actions.settings import ActionsSettings
from planeco_diagnostic.app import create_app as create_diagnostic
from planeco_diagnostic.settings import DiagnosticSettings
from planeco_levers.app import create_app as create_levers
from planeco_levers.settings import LeversSettings
from planeco_shared.clients.actions import ActionsClient
from planeco_shared.clients.base import UpstreamFailed
from planeco_shared.clients.levers import DeclinationLevel, LeversClient
from planeco_shared.identity import AuthMethod, Principal, Role
from planeco_shared.query_params import declared_query_params
from planeco_shared.routing import iter_routes
from planeco_shared.testing import TEST_SECRET

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONTRACT = json.loads((Path(__file__).resolve().parents[1] / "openapi.json").read_text())
UNKNOWN = "unexpected_param"
ADMIN = Principal(subject="svc:test", role=Role.admin, method=AuthMethod.api_key)
METHODS = ("get", "post", "put", "patch", "delete")


def _apps() -> list[FastAPI]:
    common: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite:///:memory:",
        "internal_secret": TEST_SECRET,
        "environment": "test",
    }
    return [
        create_levers(LeversSettings(**common)),
        create_diagnostic(DiagnosticSettings(**common)),
        create_actions(ActionsSettings(**common)),
    ]


def _contract_query_names(path: str, method: str) -> set[str]:
    operation = CONTRACT["paths"][path][method]
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}


async def test_each_route_knows_the_query_parameters_its_contract_declares() -> None:
    """Own parameters, page parameters, query models (by alias: `from`), repeated list filters."""
    compared = 0
    for app in _apps():
        for route in iter_routes(app):
            if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                continue
            for method in route.methods:
                assert declared_query_params(route) == _contract_query_names(route.path, method.lower()), (
                    method,
                    route.path,
                )
                compared += 1
    assert compared == sum(len([m for m in ops if m in METHODS]) for ops in CONTRACT["paths"].values())
    assert "from" in declared_query_params(
        next(r for r in iter_routes(_apps()[0]) if r.path.endswith("/compare"))
    )


def _unknown_name_refused(response: httpx.Response, declared: set[str]) -> None:
    assert response.status_code == 422, (response.request.method, response.request.url, response.text)
    problem = response.json()
    assert problem["code"] == "validation-error"
    assert problem["errors"] == [
        {
            "loc": ["query", UNKNOWN],
            "msg": problem["errors"][0]["msg"],
            "type": "extra_forbidden",
        }
    ]
    for name in declared:  # the message says what the operation takes
        assert name in problem["errors"][0]["msg"], (name, problem)


async def test_every_operation_refuses_an_unknown_query_parameter(gateway: str, make_key: Any) -> None:
    key = {"X-API-Key": await make_key("admin")}
    async with httpx.AsyncClient(base_url=gateway, timeout=20) as http:
        for path, operations in CONTRACT["paths"].items():
            url = re.sub(r"\{[^}]+\}", "x", path)
            for method in (m for m in operations if m in METHODS):
                declared = _contract_query_names(path, method)
                # With a declared parameter beside it: only the unknown one is named.
                params = [(UNKNOWN, "1")] + ([("page", "1")] if "page" in declared else [])
                response = await http.request(method.upper(), url, params=params, headers=key)
                _unknown_name_refused(response, declared)
        # A misspelt filter is no longer an unfiltered list.
        misspelt = await http.get("/api/v1/actions", params={"lever": "augm_covoit"}, headers=key)
        assert misspelt.status_code == 422 and misspelt.json()["errors"][0]["loc"] == ["query", "lever"]
        # The gateway's own routes too.
        for own in ("/healthz", "/readyz", "/openapi.json", "/docs"):
            response = await http.get(own, params={UNKNOWN: "1"})
            _unknown_name_refused(response, set())
        # Declared parameters, repeated list filters included, still pass.
        ok = await http.get(
            "/api/v1/actions",
            params=[("lever_id", "augm_covoit"), ("lever_id", "haies"), ("page", "1"), ("page_size", "10")],
            headers=key,
        )
        assert ok.status_code == 200, ok.text


async def test_the_typed_clients_send_only_declared_parameters(upstreams: dict[str, str]) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        levers = LeversClient(http, base_url=upstreams["levers"], internal_secret=TEST_SECRET)
        actions = ActionsClient(http, base_url=upstreams["actions"], internal_secret=TEST_SECRET)
        lever = await levers.get_lever("augm_covoit", version="2024-07-24", principal=ADMIN)
        assert lever.id == "augm_covoit"
        panorama = await levers.region_panorama("2024-07-24", "24", principal=ADMIN)
        assert panorama.levers
        for level in (DeclinationLevel.departement, DeclinationLevel.epci):
            declined = await levers.declination(
                "2024-07-24", "24", level, lever_id="augm_covoit", adjusted=True, principal=ADMIN
            )
            assert [item.lever_id for item in declined.levers] == ["augm_covoit"]
            assert declined.basis == "adjusted"
        # The CRTE path exists (`/crtes`): région 24 has none in the reference data, a 409 there, not a 404.
        with pytest.raises(UpstreamFailed, match="409"):
            await levers.declination("2024-07-24", "24", DeclinationLevel.crte, principal=ADMIN)
        physical = await levers.to_physical(
            "augm_covoit", region="24", version="2024-07-24", ktco2e=Decimal("10"), principal=ADMIN
        )
        back = await levers.to_ktco2e(
            "augm_covoit", region="24", version="2024-07-24", physical=physical.physical, principal=ADMIN
        )
        assert back.lever_id == physical.lever_id == "augm_covoit"
        listed = await actions.list_actions(principal=ADMIN, region="24", lever_id="augm_covoit")
        assert listed.page == 1
