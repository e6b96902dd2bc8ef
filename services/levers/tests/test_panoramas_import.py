"""Importing panorama files: all or nothing with row-level errors, idempotent, versions first-class."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from typer.testing import CliRunner

from planeco_levers.cli import app as cli
from planeco_levers.db import AuditEntry
from planeco_levers.panoramas.importer import parse_panorama
from planeco_shared.migrations import service_root_of, upgrade
from planeco_shared.runtime import runtime_of
from planeco_shared.testing import identity_headers

DATA = Path(__file__).resolve().parents[1] / "data" / "sgpe-panorama"
ADMIN = identity_headers("admin") | {"content-type": "application/json"}
ANONYMOUS = identity_headers("anonymous")


def content(version: str) -> bytes:
    return (DATA / f"panorama-{version}.json").read_bytes()


def rows(version: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(content(version), parse_float=Decimal)
    return data


async def post(
    client: httpx.AsyncClient, body: bytes, version: str, headers: dict[str, str] = ADMIN, **params: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/panoramas/imports", content=body, params={"version": version, **params}, headers=headers
    )


async def version_ids(client: httpx.AsyncClient) -> list[str]:
    body = (await client.get("/api/v1/panoramas", headers=ANONYMOUS)).json()
    return [item["version"] for item in body["items"]]


async def audit_count(app: FastAPI) -> int:
    async with runtime_of(app).sessionmaker() as session:
        statement = select(func.count()).where(AuditEntry.entity_type == "panorama_version")
        return int((await session.execute(statement)).scalar_one())


async def test_only_admins_import(client: httpx.AsyncClient) -> None:
    body = content("2024-07-24")
    assert (await post(client, body, "2025-01-01", headers=ANONYMOUS)).status_code == 401
    coordinator = identity_headers("coordinator", "44") | {"content-type": "application/json"}
    response = await post(client, body, "2025-01-01", headers=coordinator)
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert await version_ids(client) == ["2024-07-24", "2024-04-08", "2023-11-14"]


async def test_reimporting_the_same_content_changes_nothing(client: httpx.AsyncClient, app: FastAPI) -> None:
    before = await audit_count(app)
    # Same content, re-serialised differently: still the same version.
    reformatted = json.dumps(rows("2024-07-24"), default=float, indent=1).encode()
    for body in (content("2024-07-24"), reformatted):
        response = await post(client, body, "2024-07-24")
        assert response.status_code == 200, response.text
        assert response.json()["outcome"] == "unchanged"
        assert response.json()["objective_count"] == 444
    assert await audit_count(app) == before


async def test_other_content_for_an_existing_version_needs_replace(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    conflict = await post(client, content("2024-04-08"), "2024-07-24")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "panorama-version-exists"
    paca = (await client.get("/api/v1/panoramas/2024-07-24/regions/93", headers=ANONYMOUS)).json()
    assert paca["source_region_name"] == "PACA"

    before = await audit_count(app)
    replaced = await post(client, content("2024-04-08"), "2024-07-24", replace="true")
    assert replaced.status_code == 201, replaced.text
    assert (replaced.json()["outcome"], replaced.json()["objective_count"]) == ("replaced", 446)
    paca = (await client.get("/api/v1/panoramas/2024-07-24/regions/93", headers=ANONYMOUS)).json()
    assert paca["source_region_name"] == "Région Sud"
    assert await audit_count(app) == before + 1


async def test_a_new_release_imports_the_same_way_and_becomes_the_default(client: httpx.AsyncClient) -> None:
    data = rows("2024-07-24")
    for row in data:
        if row["regionName"] == "Grand Est" and row["id"] == "augm_voitelec":
            row["objCO2"] = Decimal("1000.5")
        row["sector"] = {"Déchet": "Déchets", "Agriculture, Forêts et Sols": "Agriculture/Forêts/Sols"}.get(
            row["sector"], row["sector"]
        )
        row["newField"] = 1
        if row["id"] == "augm_voitelec":
            row["sector"] = "Numérique"
    response = await post(
        client, json.dumps(data, default=float).encode(), "2025-01-01", source_file="sgpe.json"
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == "/api/v1/panoramas/2025-01-01"
    report = response.json()
    assert report["outcome"] == "created"
    assert "unknown field 'newField' ignored (474 rows)" in report["warnings"]
    assert any("'Numérique'" in warning for warning in report["warnings"])
    assert await version_ids(client) == ["2025-01-01", "2024-07-24", "2024-04-08", "2023-11-14"]
    levers = (await client.get("/api/v1/levers", headers=ANONYMOUS)).json()
    assert {item["version"] for item in levers["items"]} == {"2025-01-01"}
    sectors = (await client.get("/api/v1/levers/sectors", headers=ANONYMOUS)).json()["items"]
    assert [s["id"] for s in sectors][-1] == "numerique"  # unknown sectors come after the known ones
    assert "dechets" in {s["id"] for s in sectors}
    compare = await client.get(
        "/api/v1/panoramas/2025-01-01/compare",
        params={"from": "2024-07-24", "region": "44"},
        headers=ANONYMOUS,
    )
    changed = [item for item in compare.json()["levers"] if item["status"] == "changed"]
    assert [(c["lever_id"], c["difference_ktco2e"]) for c in changed] == [("augm_voitelec", "34.3592")]


def _missing_field(data: list[dict[str, Any]]) -> None:
    del data[3]["objCO2"]


def _unknown_region(data: list[dict[str, Any]]) -> None:
    data[5]["regionName"] = "Atlantide"


def _non_numeric(data: list[dict[str, Any]]) -> None:
    data[7]["objCO2"] = "1379,8"


def _duplicate(data: list[dict[str, Any]]) -> None:
    data[9] = dict(data[8])


def _nul_in_a_label(data: list[dict[str, Any]]) -> None:
    data[11]["leverName"] = "Voitures\u0000électriques"  # PostgreSQL cannot store it: refused up front


def _control_character_in_a_comment(data: list[dict[str, Any]]) -> None:
    data[12]["comment"] = "voir\x1bannexe"


@pytest.mark.parametrize(
    ("spoil", "loc", "type_"),
    [
        (_missing_field, ["row", 3, "objCO2"], "missing"),
        (_unknown_region, ["row", 5, "regionName"], "unknown_region"),
        (_non_numeric, ["row", 7, "objCO2"], "value_error"),
        (_duplicate, ["row", 9, "id"], "duplicate"),
        (_nul_in_a_label, ["row", 11, "leverName"], "string_pattern_mismatch"),
        (_control_character_in_a_comment, ["row", 12, "comment"], "string_pattern_mismatch"),
    ],
)
async def test_a_malformed_file_is_refused_with_row_errors_and_changes_nothing(
    client: httpx.AsyncClient, app: FastAPI, spoil: Any, loc: list[Any], type_: str
) -> None:
    before = await audit_count(app)
    data = rows("2024-07-24")
    spoil(data)
    for version in ("2025-02-02", "2024-07-24"):
        response = await post(client, json.dumps(data, default=float).encode(), version, replace="true")
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "invalid-panorama"
        assert "nothing imported" in problem["detail"]
        assert [(e["loc"], e["type"]) for e in problem["errors"]] == [(loc, type_)]
    assert await version_ids(client) == ["2024-07-24", "2024-04-08", "2023-11-14"]
    assert await audit_count(app) == before
    cars = (await client.get("/api/v1/panoramas/2024-07-24/regions/44", headers=ANONYMOUS)).json()
    assert cars["lever_count"] == 30


async def test_every_error_of_a_file_is_reported_at_once(client: httpx.AsyncClient) -> None:
    data = rows("2024-07-24")
    for index in range(0, 300, 2):
        data[index]["startPoint2019"] = True
    data[1]["ratioCO2toPhys"] = Decimal("0.1234567")
    problem = (await post(client, json.dumps(data, default=float).encode(), "2025-03-03")).json()
    assert "151 error(s) (the first 100 are listed)" in problem["detail"]
    assert len(problem["errors"]) == 100
    assert problem["errors"][0]["loc"] == ["row", 0, "startPoint2019"]
    assert problem["errors"][1] == {
        "loc": ["row", 1, "ratioCO2toPhys"],
        "msg": "has more than 6 decimal places",
        "type": "value_error",
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[{not json", "not valid JSON"),
        (b'{"rows": []}', "must be a JSON array"),
        (b"[]", "no rows"),
        (b'[{"objCO2": NaN}]', "not valid JSON"),
        (b"[1, 2]", "not a valid panorama"),
    ],
)
async def test_files_that_are_not_panoramas(client: httpx.AsyncClient, body: bytes, message: str) -> None:
    response = await post(client, body, "2025-04-04")
    assert response.status_code == 422
    assert message in response.json()["detail"]
    assert await version_ids(client) == ["2024-07-24", "2024-04-08", "2023-11-14"]


async def test_a_file_of_only_the_demonstration_region_imports_nothing(client: httpx.AsyncClient) -> None:
    demo = [row for row in rows("2024-07-24") if row["regionName"] == "Région exemple"]
    response = await post(client, json.dumps(demo, default=float).encode(), "2025-05-05")
    assert response.status_code == 422
    assert "no row for a real région" in response.json()["detail"]


async def test_bad_requests(client: httpx.AsyncClient) -> None:
    body = content("2024-07-24")
    assert (await post(client, body, "2025-13-01")).status_code == 422
    assert (await post(client, body, "v3")).status_code == 422
    text = ADMIN | {"content-type": "text/csv"}
    assert (await post(client, body, "2025-01-01", headers=text)).status_code == 415


def test_parse_keeps_every_digit_and_maps_paca() -> None:
    parsed = parse_panorama(content("2024-07-24"))
    assert parsed.region_count == 18
    assert {o.region_code for o in parsed.objectives if o.region_name_source == "PACA"} == {"93"}
    cars = next(o for o in parsed.objectives if o.lever_id == "augm_voitelec" and o.region_code == "44")
    assert (cars.objective_ktco2e, cars.ratio, cars.start_2019) == (
        Decimal("966.1408"),
        Decimal("0.4677"),
        Decimal("7.821"),
    )


def test_the_command_line_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    upgrade(service_root_of(__file__.replace("/tests/", "/src/planeco_levers/")), url)
    monkeypatch.setenv("PLANECO_LEVERS_DATABASE_URL", url)
    runner = CliRunner()
    bad = tmp_path / "bad.json"
    data = rows("2024-07-24")
    data[2]["regionName"] = "Atlantide"
    bad.write_text(json.dumps(data, default=float), encoding="utf-8")

    refused = runner.invoke(cli, ["import-panorama", str(bad), "--version", "2024-07-24"])
    assert refused.exit_code == 1
    assert "nothing imported" in refused.output
    assert "row 2 regionName: unknown région name 'Atlantide'" in refused.output

    path = str(DATA / "panorama-2024-07-24.json")
    created = runner.invoke(cli, ["import-panorama", path])  # version from the file name
    assert created.exit_code == 0, created.output
    assert "panorama 2024-07-24 created: 474 rows, 444 objectives, 42 levers, 18 régions" in created.output
    assert "warning: skipped 30 rows of 'Région exemple'" in created.output
    again = runner.invoke(cli, ["import-panorama", path, "--version", "2024-07-24"])
    assert again.exit_code == 0
    assert "unchanged" in again.output
    other = runner.invoke(
        cli, ["import-panorama", str(DATA / "panorama-2024-04-08.json"), "--version", "2024-07-24"]
    )
    assert other.exit_code == 1
    assert "already imported with other content" in other.output
