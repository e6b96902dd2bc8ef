"""CSV and XLSX of the région, national and comparison reads: read back with the csv module and openpyxl,
every figure equals the JSON view's; metadata, file names, problems and ETags per format."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import httpx
import pytest

from planeco_shared.tabular import excel_decimal
from planeco_shared.testing import (
    ExportedTable,
    as_requested,
    identity_headers,
    read_csv_export,
    read_xlsx_export,
)

ANONYMOUS = identity_headers("anonymous")
VERSION = "2024-07-24"
REGION = f"/api/v1/panoramas/{VERSION}/regions/24"
NATIONAL = f"/api/v1/panoramas/{VERSION}/national"
COMPARE = f"/api/v1/panoramas/{VERSION}/compare"
FORMATS = ("csv", "xlsx")


async def fetch(client: httpx.AsyncClient, url: str, fmt: str, **params: str) -> tuple[ExportedTable, str]:
    response = await client.get(**as_requested(url, {**params, "format": fmt}), headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    disposition = response.headers["content-disposition"]
    exported = read_csv_export(response.content) if fmt == "csv" else read_xlsx_export(response.content)
    return exported, disposition


async def view(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    response = await client.get(**as_requested(url, params), headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    return response.json()


def same(exported: Any, expected: str | int | None) -> bool:
    """A cell equals the JSON's figure: the CSV's exact text (decimal comma), or the XLSX's number: Excel
    keeps 15 significant digits, so the figure rounded to 15 (the official figures have fewer; a derived
    adjusted objective may have more)."""
    if expected is None:
        return exported is None
    if isinstance(expected, int):
        return exported == (str(expected) if isinstance(exported, str) else expected)
    if isinstance(exported, str):
        return exported.replace(",", ".") == expected if _is_number(expected) else exported == expected
    if isinstance(exported, int | float):
        return Decimal(f"{exported:.15g}") == excel_decimal(Decimal(expected))[0]
    return False


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def assert_row(row: dict[str, Any], expected: dict[str, str | int | None]) -> None:
    for name, value in expected.items():
        assert same(row[name], value), (name, row[name], value)


def check_sgpe_metadata(exported: ExportedTable, version: str) -> None:
    assert exported.metadata["version"] == [version]
    assert "SGPE" in exported.metadata["source"][0]
    assert "MIT" in exported.metadata["licence"][0]
    generated = dt.datetime.fromisoformat(exported.metadata["generated_at"][0])
    assert generated.tzinfo is not None


@pytest.mark.parametrize("fmt", FORMATS)
async def test_region_export_equals_the_json_view(client: httpx.AsyncClient, fmt: str) -> None:
    body = await view(client, REGION)
    exported, disposition = await fetch(client, REGION, fmt)
    assert disposition == f'attachment; filename="planeco-panorama-{VERSION}-region-24.{fmt}"'
    check_sgpe_metadata(exported, VERSION)
    assert exported.metadata["region"] == ["24 Centre-Val de Loire"]
    assert "objective_ktco2e [ktCO2e]" in exported.headers
    assert "physical_2030 [unit: see column unit]" in exported.headers
    assert "adjusted_objective_ktco2e [ktCO2e]" in exported.headers
    levers = [row for row in exported.rows if row["row_type"] == "lever"]
    assert [row["lever_id"] for row in levers] == [lever["lever_id"] for lever in body["levers"]]
    for row, lever in zip(levers, body["levers"], strict=True):
        assert_row(
            row,
            {
                "region_code": "24",
                "lever_name": lever["name"],
                "sector": lever["sector"],
                "objective_ktco2e": lever["objective_ktco2e"],
                "unit": lever["unit"],
                "start_2019": lever["start_2019"],
                "ratio": lever["ratio"],
                "physical_2030": lever["physical_2030"],
                "physical_2030_rounded": lever["physical_2030_rounded"],
                "adjusted_objective_ktco2e": None,
                "lever_count": None,
            },
        )
    sectors = [row for row in exported.rows if row["row_type"] == "sector_total"]
    assert [row["sector"] for row in sectors] == [sector["sector"] for sector in body["sectors"]]
    for row, sector in zip(sectors, body["sectors"], strict=True):
        assert_row(
            row,
            {
                "lever_id": None,
                "lever_count": sector["lever_count"],
                "objective_ktco2e": sector["objective_ktco2e"],
                "adjusted_objective_ktco2e": sector["adjusted_objective_ktco2e"],
            },
        )
    (total,) = (row for row in exported.rows if row["row_type"] == "region_total")
    assert_row(total, {"lever_count": body["lever_count"], "objective_ktco2e": body["total_ktco2e"]})
    assert exported.rows[-1] is total
    # A program sums the lever rows and finds the JSON's total.
    if fmt == "csv":
        summed = sum(Decimal(row["objective_ktco2e"].replace(",", ".")) for row in levers)
        assert summed == Decimal(body["total_ktco2e"])


async def test_adjusted_figures_sit_beside_the_official_ones(client: httpx.AsyncClient) -> None:
    adjustment = {"objective_physical": "300.25", "comment": "=SRADDET 2030", "done_ktco2e": "12.5"}
    put = await client.put(
        REGION + "/adjustments/augm_voitelec", json=adjustment, headers=identity_headers("coordinator", "24")
    )
    assert put.status_code == 201, put.text
    body = await view(client, REGION)
    (lever,) = (item for item in body["levers"] if item["lever_id"] == "augm_voitelec")
    adjusted = lever["adjusted"]
    expected: dict[str, str | int | None] = {
        "adjusted_entered_unit": "physical",
        "adjusted_objective_ktco2e": adjusted["objective_ktco2e"],
        "adjusted_physical_2030": adjusted["physical_2030"],
        "adjusted_done_ktco2e": "12.5",
        "adjusted_planned_ktco2e": None,
        "adjusted_remaining_ktco2e": adjusted["remaining_ktco2e"],
        "adjusted_anchored_version": VERSION,
    }
    for fmt in FORMATS:
        exported, _ = await fetch(client, REGION, fmt)
        (row,) = (row for row in exported.rows if row["lever_id"] == "augm_voitelec")
        assert_row(row, expected)
        # The comment is text: the CSV neutralises the formula, the XLSX keeps it as a string cell.
        assert row["adjusted_comment"] == ("'=SRADDET 2030" if fmt == "csv" else "=SRADDET 2030")
        (total,) = (row for row in exported.rows if row["row_type"] == "region_total")
        assert_row(
            total, {"adjusted_lever_count": 1, "adjusted_objective_ktco2e": body["adjusted_total_ktco2e"]}
        )
        if fmt == "csv":  # every digit
            assert total["adjusted_objective_ktco2e"].replace(",", ".") == body["adjusted_total_ktco2e"]
        else:  # the derived objective has 16 significant digits: the metadata sheet says they were rounded
            assert any("more than 15 significant digits" in note for note in exported.metadata["note"])


@pytest.mark.parametrize("fmt", FORMATS)
async def test_national_export_equals_the_json_view(client: httpx.AsyncClient, fmt: str) -> None:
    body = await view(client, NATIONAL)
    exported, disposition = await fetch(client, NATIONAL, fmt)
    assert disposition == f'attachment; filename="planeco-panorama-{VERSION}-national.{fmt}"'
    check_sgpe_metadata(exported, VERSION)
    levers = [row for row in exported.rows if row["row_type"] == "lever"]
    assert len(levers) == body["lever_count"] == len(body["levers"])
    for row, lever in zip(levers, body["levers"], strict=True):
        assert_row(
            row,
            {
                "lever_id": lever["lever_id"],
                "lever_name": lever["name"],
                "region_count": lever["region_count"],
                "regions": " ".join(lever["regions"]),
                "objective_ktco2e": lever["objective_ktco2e"],
            },
        )
    sectors = [row for row in exported.rows if row["row_type"] == "sector_total"]
    for row, sector in zip(sectors, body["sectors"], strict=True):
        assert_row(row, {"sector": sector["sector"], "lever_count": sector["lever_count"]})
        assert_row(row, {"objective_ktco2e": sector["objective_ktco2e"]})
    assert len(sectors) == len(body["sectors"])
    (total,) = (row for row in exported.rows if row["row_type"] == "national_total")
    assert_row(
        total,
        {
            "region_count": body["region_count"],
            "lever_count": body["lever_count"],
            "objective_ktco2e": body["total_ktco2e"],
        },
    )


@pytest.mark.parametrize("fmt", FORMATS)
async def test_comparison_export_equals_the_json_view(client: httpx.AsyncClient, fmt: str) -> None:
    params = {"from": "2024-04-08", "region": "11"}
    body = await view(client, COMPARE, **params)
    exported, disposition = await fetch(client, COMPARE, fmt, **params)
    assert disposition == f'attachment; filename="planeco-comparison-2024-04-08-to-{VERSION}-region-11.{fmt}"'
    check_sgpe_metadata(exported, f"2024-04-08 → {VERSION}")
    assert exported.metadata["from_version"] == ["2024-04-08"]
    assert exported.metadata["to_version"] == [VERSION]
    assert exported.metadata["removed"] == [" ".join(body["removed"]) or "none"]
    assert body["removed"] == ["co2_isdnd"]  # a lever that disappeared: still a row, status removed
    levers = [row for row in exported.rows if row["row_type"] == "lever"]
    assert len(levers) == len(body["levers"])
    for row, lever in zip(levers, body["levers"], strict=True):
        assert_row(
            row,
            {
                "lever_id": lever["lever_id"],
                "status": lever["status"],
                "from_ktco2e": lever["from_ktco2e"],
                "to_ktco2e": lever["to_ktco2e"],
                "difference_ktco2e": lever["difference_ktco2e"],
            },
        )
    (total,) = (row for row in exported.rows if row["row_type"] == "total")
    assert_row(
        total,
        {
            "from_ktco2e": body["from_total_ktco2e"],
            "to_ktco2e": body["to_total_ktco2e"],
            "difference_ktco2e": body["difference_ktco2e"],
        },
    )
    national, disposition = await fetch(client, COMPARE, fmt, **{"from": "2024-04-08"})
    assert disposition.endswith(f'-to-{VERSION}-national.{fmt}"')
    assert "region" not in national.metadata


async def test_the_csv_decimal_point_option(client: httpx.AsyncClient) -> None:
    exported, _ = await fetch(client, REGION, "csv", decimal="point")
    (row,) = (row for row in exported.rows if row["lever_id"] == "augm_voitelec")
    assert (row["objective_ktco2e"], row["physical_2030"]) == ("482.1358", "229.69091366")
    assert exported.metadata["format"][0].startswith("CSV, UTF-8, separator ';', decimal point")


@pytest.mark.parametrize(
    ("url", "params", "status", "code"),
    [
        (REGION.replace(VERSION, "2099-01-01"), {}, 404, "not-found"),
        (REGION.replace(VERSION, "2024-13-01"), {}, 422, "validation-error"),
        (REGION.replace("/24", "/99"), {}, 404, "not-found"),
        (REGION, {"format": "pdf"}, 422, "validation-error"),
        (REGION, {"decimal": "dot"}, 422, "validation-error"),
        (NATIONAL.replace(VERSION, "2099-01-01"), {}, 404, "not-found"),
        (COMPARE, {"from": "2099-01-01"}, 404, "not-found"),
        (COMPARE, {"from": "2024-04-08", "region": "99"}, 404, "not-found"),
    ],
)
async def test_errors_stay_json_problems(
    client: httpx.AsyncClient, url: str, params: dict[str, str], status: int, code: str
) -> None:
    for fmt in FORMATS:
        response = await client.get(**as_requested(url, {"format": fmt, **params}), headers=ANONYMOUS)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert "content-disposition" not in response.headers
        assert response.json()["code"] == code


@pytest.mark.parametrize(
    ("url", "params"),
    [(REGION, {}), (NATIONAL, {}), (COMPARE, {"from": "2024-04-08", "region": "11"})],
)
async def test_each_format_has_its_etag_and_revalidates(
    client: httpx.AsyncClient, url: str, params: dict[str, str]
) -> None:
    etags = {}
    for fmt in ("json", *FORMATS):
        response = await client.get(**as_requested(url, {**params, "format": fmt}), headers=ANONYMOUS)
        etags[fmt] = response.headers["etag"]
        assert response.headers["cache-control"] == "public, max-age=300, must-revalidate"
        again = await client.get(
            **as_requested(url, {**params, "format": fmt}), headers=ANONYMOUS | {"if-none-match": etags[fmt]}
        )
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etags[fmt])
    assert len(set(etags.values())) == 3
    # Files are rebuilt with their generated_at: weak tags; the JSON is byte for byte: strong.
    assert etags["csv"].startswith('W/"') and etags["xlsx"].startswith('W/"')
    assert not etags["json"].startswith("W/")
    default = await client.get(url, params=params, headers=ANONYMOUS | {"if-none-match": etags["json"]})
    assert default.status_code == 304  # no format: the JSON view
    stale = await client.get(
        **as_requested(url, {**params, "format": "csv"}), headers=ANONYMOUS | {"if-none-match": etags["xlsx"]}
    )
    assert stale.status_code == 200


async def test_the_csv_etag_follows_the_data(client: httpx.AsyncClient) -> None:
    before = (await client.get(**as_requested(REGION, {"format": "csv"}), headers=ANONYMOUS)).headers["etag"]
    put = await client.put(
        REGION + "/adjustments/augm_voitelec",
        json={"objective_ktco2e": "500", "comment": "Plus ambitieux"},
        headers=identity_headers("coordinator", "24"),
    )
    assert put.status_code == 201, put.text
    after = await client.get(
        **as_requested(REGION, {"format": "csv"}), headers=ANONYMOUS | {"if-none-match": before}
    )
    assert after.status_code == 200
    assert after.headers["etag"] != before
