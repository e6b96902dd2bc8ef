"""CSV and XLSX of the declination reads: one row per lever × territory, read back with the csv module and
openpyxl, equal to the JSON view; territory and code types; file names with the options; problems; ETags."""

from __future__ import annotations

import csv
from collections import defaultdict
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
BASE = f"/api/v1/panoramas/{VERSION}/regions"
DEPARTEMENTS = f"{BASE}/24/departements"


async def get(client: httpx.AsyncClient, url: str, **params: str) -> httpx.Response:
    response = await client.get(**as_requested(url, params), headers=ANONYMOUS)
    assert response.status_code == 200, response.text
    return response


def read(response: httpx.Response, fmt: str) -> ExportedTable:
    return read_csv_export(response.content) if fmt == "csv" else read_xlsx_export(response.content)


def figure(value: Any) -> Decimal | None:
    """A cell as a Decimal: the CSV's exact text, or the XLSX's number at Excel's 15 significant digits."""
    if value is None:
        return None
    if isinstance(value, str):
        return Decimal(value.replace(",", "."))
    return Decimal(f"{value:.15g}")


def expected(value: str | None, fmt: str) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value) if fmt == "csv" else excel_decimal(Decimal(value))[0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
async def test_departements_export_equals_the_json_view(client: httpx.AsyncClient, fmt: str) -> None:
    body = (await get(client, DEPARTEMENTS)).json()
    response = await get(client, DEPARTEMENTS, format=fmt)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="planeco-declination-{VERSION}-region-24-departements.{fmt}"'
    )
    exported = read(response, fmt)
    assert exported.metadata["version"] == [VERSION]
    assert "SGPE" in exported.metadata["source"][0] and "population" in exported.metadata["source"][0]
    assert "Licence Ouverte" in exported.metadata["licence"][0]
    assert exported.metadata["precision"] == ["0.1 (ktCO2e and physical units)"]
    assert exported.metadata["rounding"] == [body["rounding"]]
    assert "share [fraction of 1]" in exported.headers
    assert "start_2019 [unit: see column unit]" in exported.headers

    by_lever: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in exported.rows:
        if row["row_type"] in ("region", "child"):
            by_lever[row["lever_id"]].append(row)
    assert list(by_lever) == [lever["lever_id"] for lever in body["levers"]]
    for lever in body["levers"]:
        region_row, *child_rows = by_lever[lever["lever_id"]]
        region = lever["region"]
        assert (region_row["row_type"], region_row["territory_type"], region_row["code_type"]) == (
            "region",
            "région",
            "INSEE",
        )
        assert region_row["territory_code"] == "24"
        assert region_row["key_name"] == lever["key"]["name"] == "population"
        assert region_row["physical_method"] == lever["physical_method"]
        assert figure(region_row["objective_ktco2e"]) == expected(region["objective_ktco2e_rounded"], fmt)
        assert figure(region_row["objective_ktco2e_exact"]) == expected(region["objective_ktco2e"], fmt)
        assert figure(region_row["start_2019"]) == expected(region["start_2019_rounded"], fmt)
        assert figure(region_row["physical_2030"]) == expected(region["physical_2030_rounded"], fmt)
        assert figure(region_row["physical_2030_exact"]) == expected(region["physical_2030"], fmt)
        assert [row["territory_code"] for row in child_rows] == [child["code"] for child in lever["children"]]
        for row, child in zip(child_rows, lever["children"], strict=True):
            assert (row["row_type"], row["territory_type"], row["code_type"]) == (
                "child",
                "département",
                "INSEE",
            )
            assert row["territory_name"] == child["name"]
            for column in ("weight", "share", "objective_ktco2e", "start_2019", "physical_2030"):
                assert figure(row[column]) == expected(child[column], fmt), (column, row, child)
        # What a program does: keep the child rows, sum them, find the région row.
        if fmt == "csv":
            total = sum((figure(row["objective_ktco2e"]) or Decimal(0) for row in child_rows), Decimal(0))
            assert total == Decimal(region["objective_ktco2e_rounded"])

    loiret = [row for row in exported.rows if row["territory_code"] == "45" and row["row_type"] == "child"]
    assert len(loiret) == len(body["levers"])
    assert {row["territory_name"] for row in loiret} == {"Loiret"}
    totals = [row for row in exported.rows if row["row_type"] == "child_total"]
    assert [(row["territory_code"], figure(row["objective_ktco2e"])) for row in totals] == [
        (total["code"], expected(total["objective_ktco2e"], fmt)) for total in body["totals"]
    ]
    (region_total,) = (row for row in exported.rows if row["row_type"] == "region_total")
    assert figure(region_total["objective_ktco2e"]) == expected(body["total_ktco2e_rounded"], fmt)
    assert figure(region_total["objective_ktco2e_exact"]) == expected(body["total_ktco2e"], fmt)


async def test_epci_rows_say_siren_and_options_name_the_file(client: httpx.AsyncClient) -> None:
    params = {"precision": "0.01", "basis": "adjusted", "lever_id": "augm_vélotc"}
    body = (await get(client, f"{BASE}/24/epcis", **params)).json()
    response = await get(client, f"{BASE}/24/epcis", format="csv", decimal="point", **params)
    assert response.headers["content-disposition"] == (
        f'attachment; filename="planeco-declination-{VERSION}-region-24-epcis-adjusted-precision-0.01-'
        'augm_velotc.csv"'
    )
    exported = read_csv_export(response.content)
    assert exported.metadata["basis"] == ["adjusted"]
    children = [row for row in exported.rows if row["row_type"] == "child"]
    (lever,) = body["levers"]
    assert [(row["territory_code"], row["objective_ktco2e"]) for row in children] == [
        (child["code"], child["objective_ktco2e"]) for child in lever["children"]
    ]
    assert {(row["territory_type"], row["code_type"]) for row in children} == {("EPCI", "SIREN")}
    assert all(len(row["territory_code"]) == 9 for row in children)
    assert {row["lever_id"] for row in exported.rows if row["lever_id"]} == {"augm_vélotc"}
    assert exported.metadata["json_view"] == [
        f"{BASE}/24/epcis?precision=0.01&basis=adjusted&lever_id=augm_v%C3%A9lotc"
    ]


async def test_crte_rows_say_crte_id(client: httpx.AsyncClient) -> None:
    crte = (
        "crte_id,crte_name,member\n"
        "crte-45-orleans,CRTE Orléans Métropole,244500468\n"
        "crte-41-blois,CRTE Blois,41018\n"
    )
    uploaded = await client.post(
        "/api/v1/territories/crtes/imports",
        content=crte.encode(),
        headers=identity_headers("coordinator", "24") | {"content-type": "text/csv"},
    )
    assert uploaded.status_code == 200, uploaded.text
    response = await get(client, f"{BASE}/24/crtes", format="xlsx", lever_id="augm_voitelec")
    assert response.headers["content-disposition"].endswith('-region-24-crte-augm_voitelec.xlsx"')
    exported = read_xlsx_export(response.content)
    children = [row for row in exported.rows if row["row_type"] == "child"]
    assert {(row["territory_type"], row["code_type"]) for row in children} == {("CRTE", "CRTE id")}
    assert sorted(row["territory_code"] for row in children) == ["crte-41-blois", "crte-45-orleans"]
    assert sum(figure(row["share"]) or 0 for row in children) == 1


@pytest.mark.parametrize(
    ("url", "params", "status", "code"),
    [
        (f"{BASE}/24/crtes", {}, 409, "no-crte"),
        (f"{BASE}/99/departements", {}, 404, "not-found"),
        (DEPARTEMENTS.replace(VERSION, "2099-01-01"), {}, 404, "not-found"),
        (DEPARTEMENTS, {"lever_id": "no_such_lever"}, 404, "not-found"),
        (DEPARTEMENTS, {"precision": "0.5"}, 422, "validation-error"),
        (DEPARTEMENTS, {"format": "ods"}, 422, "validation-error"),
    ],
)
async def test_errors_stay_json_problems(
    client: httpx.AsyncClient, url: str, params: dict[str, str], status: int, code: str
) -> None:
    response = await client.get(**as_requested(url, {"format": "xlsx", **params}), headers=ANONYMOUS)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "content-disposition" not in response.headers
    assert response.json()["code"] == code


async def test_each_format_has_its_etag_and_revalidates(client: httpx.AsyncClient) -> None:
    etags = {}
    for fmt in ("json", "csv", "xlsx"):
        response = await get(client, DEPARTEMENTS, format=fmt)
        etags[fmt] = response.headers["etag"]
        assert response.headers["cache-control"] == "public, max-age=60, must-revalidate"
        again = await client.get(
            **as_requested(DEPARTEMENTS, {"format": fmt}), headers=ANONYMOUS | {"if-none-match": etags[fmt]}
        )
        assert again.status_code == 304
    assert len(set(etags.values())) == 3
    other_precision = await get(client, DEPARTEMENTS, format="csv", precision="1")
    assert other_precision.headers["etag"] != etags["csv"]


async def test_a_key_source_cannot_inject_a_formula_into_the_export(client: httpx.AsyncClient) -> None:
    """A coordinator's free-text `source` reaches the export's metadata (line 3) and key_source cells."""
    hostile = 'ok;=HYPERLINK("http://evil.example","clic")'
    uploaded = await client.put(
        "/api/v1/declination-keys/regions/24/augm_haies",
        params={"level": "departement", "source": hostile},
        content=b"code;value\n18;1\n28;1\n36;1\n37;1\n41;1\n45;1\n",
        headers=identity_headers("coordinator", "24") | {"content-type": "text/csv"},
    )
    assert uploaded.status_code == 201, uploaded.text
    response = await get(client, DEPARTEMENTS, format="csv", lever_id="augm_haies")
    lines = response.content.decode("utf-8-sig").split("\r\n")
    (line_3,) = csv.reader([lines[2]], delimiter=";")
    assert len(line_3) == 1 and line_3[0].startswith("# source: ") and hostile in line_3[0]
    exported = read_csv_export(response.content)
    assert hostile in exported.metadata["source"][0]
    assert {row["key_source"] for row in exported.rows if row["row_type"] == "child"} == {hostile}
