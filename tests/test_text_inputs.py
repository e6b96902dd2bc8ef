"""Text PostgreSQL cannot store (NUL) or that has no place in a label (control characters) is a 422
naming the field, in every service, never a 500 at the INSERT (found by fuzz/contract.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

NUL = "\u0000"


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "loc"),
    [
        (
            "POST",
            "/api/v1/actions",
            {},
            {"title": f"Plan{NUL}vélo", "territory": {"level": "region", "code": "24"}},
            ["body", "title"],
        ),
        (
            "POST",
            "/api/v1/actions",
            {},
            {
                "title": "Plan vélo",
                "territory": {"level": "region", "code": "24"},
                "carriers": [{"kind": "autre", "name": "A\x1b"}],
            },
            None,
        ),
        (
            "POST",
            "/api/v1/actions",
            {},
            {"title": "Plan vélo", "territory": {"level": "region", "code": "24"}, "description": NUL},
            None,
        ),
        ("GET", "/api/v1/actions", {"lever_id": f"a{NUL}b"}, None, ["query", "lever_id", 0]),  # the first
        ("POST", "/api/v1/questionnaires", {}, {"title": f"Diagnostic{NUL}"}, ["body", "title"]),
        ("GET", "/api/v1/territories/communes", {"q": f"orl{NUL}eans"}, None, ["query", "q"]),
        (
            "PUT",
            "/api/v1/panoramas/2024-07-24/regions/24/adjustments/augm_voitelec",
            {},
            {"objective_ktco2e": "100", "comment": f"SRADDET{NUL}"},
            ["body", "comment"],
        ),
        (
            "PUT",
            "/api/v1/declination-keys/regions/24/augm_haies",
            {"level": "departement", "name": f"SAU{NUL}"},
            None,
            ["query", "name"],
        ),
    ],
)
async def test_unstorable_text_is_a_422_naming_the_field(  # type: ignore[no-untyped-def]
    gateway: str,
    make_key,
    method: str,
    path: str,
    params: dict[str, str],
    body: dict[str, Any] | None,
    loc: list[str] | None,
) -> None:
    key = await make_key("admin")
    async with httpx.AsyncClient(base_url=gateway, headers={"X-API-Key": key}) as client:
        before = (await client.get("/api/v1/actions")).json()["total"]
        headers = {"content-type": "text/csv"} if body is None and method == "PUT" else {}
        response = await client.request(
            method,
            path,
            params=params,
            json=body,
            headers=headers,
            content=b"code;value\n18;1\n" if headers else None,
        )
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        if loc is not None:
            assert loc in [error["loc"] for error in response.json()["errors"]]
        assert (await client.get("/api/v1/actions")).json()["total"] == before
