"""Spreadsheet imports: CSV and XLSX read alike, errors by row and column, nothing half-read."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook
from pydantic import BaseModel, Field

from planeco_shared.problems import UnprocessableEntity
from planeco_shared.sheets import RowErrors, column_key, read_sheet, split_list, validate_rows
from planeco_shared.tabular import XLSX_MEDIA_TYPE

COLUMNS = ("key", "amount", "tags", "start")


class Row(BaseModel):
    key: str = Field(pattern=r"^[a-z0-9-]+$")
    amount: Decimal = Field(ge=0)
    tags: list[str] = Field(default_factory=list)
    start: dt.date | None = None


def read(content: bytes, media_type: str = "text/csv") -> list[tuple[int, Row]]:
    errors = RowErrors("the file", code="invalid-file")
    rows = read_sheet(content, media_type, columns=COLUMNS, required=("key",), max_rows=10, errors=errors)
    valid = validate_rows(
        rows,
        Row,
        errors,
        prepare=lambda cells: {k: split_list(v) if k == "tags" else v for k, v in cells.items() if v},
    )
    errors.raise_if_any()
    return [(row.number, model) for row, model in valid]


def xlsx(*rows: tuple[object, ...], sheet: str = "Feuil1") -> bytes:
    workbook = Workbook()
    active = workbook.active
    assert active is not None
    active.title = sheet
    for row in rows:
        active.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def errors_of(content: bytes, media_type: str = "text/csv") -> list[tuple[list[str | int], str]]:
    with pytest.raises(UnprocessableEntity) as caught:
        read(content, media_type)
    assert caught.value.detail is not None and "nothing was changed" in caught.value.detail
    return [(error.loc, error.type) for error in caught.value.errors or []]


def test_a_csv_with_semicolons_and_decimal_commas_and_one_with_commas_read_alike() -> None:
    french = "\ufeffKey;Amount;Tags;Start\nhaies;12,5;a|b;2026-01-31\n\n;;;\nbus;0;;\n".encode()
    english = b"key,amount,tags,start\nhaies,12.5,a|b,2026-01-31\nbus,0,,\n"
    expected = [
        (2, Row(key="haies", amount=Decimal("12.5"), tags=["a", "b"], start=dt.date(2026, 1, 31))),
        (5, Row(key="bus", amount=Decimal(0))),
    ]
    assert read(french) == expected
    assert [model for _, model in read(english)] == [model for _, model in expected]


def test_an_xlsx_reads_numbers_exactly_and_dates_as_dates() -> None:
    content = xlsx(
        ("Key", "Amount", "Tags", "Start"),
        ("haies", 12.5, "a, b", dt.datetime(2026, 1, 31)),  # noqa: DTZ001 (an Excel date has no zone)
        (None, None, None, None),
        ("bus", 0.1, None, None),
        ("tram", 3, None, None),
    )
    assert read(content, XLSX_MEDIA_TYPE) == [
        (2, Row(key="haies", amount=Decimal("12.5"), tags=["a", "b"], start=dt.date(2026, 1, 31))),
        (4, Row(key="bus", amount=Decimal("0.1"))),
        (5, Row(key="tram", amount=Decimal(3))),
    ]


def test_every_bad_row_is_reported_by_row_and_column() -> None:
    content = b"key;amount\nHaies!;-1\nbus;abc\nok;1\n"
    assert errors_of(content) == [
        (["row", 2, "key"], "string_pattern_mismatch"),
        (["row", 2, "amount"], "greater_than_equal"),
        (["row", 3, "amount"], "decimal_parsing"),
    ]


def test_header_errors_unknown_missing_and_duplicate_columns() -> None:
    assert errors_of(b"amount;montant;amount\n1;2;3\n") == [
        (["header", 2], "unknown_column"),
        (["header", 3], "duplicate_column"),
        (["header", "key"], "missing_column"),
    ]


@pytest.mark.parametrize(
    ("content", "media_type", "kind"),
    [
        (b"", "text/csv", "empty"),
        (b"key\n\xff\xfe\n", "text/csv", "encoding"),
        (b"not a zip", XLSX_MEDIA_TYPE, "xlsx"),
        (b"key\n" + b"a\n" * 11, "text/csv", "too_many_rows"),
        (b"key;amount\na;1;x\n", "text/csv", "extra_cells"),
    ],
)
def test_unreadable_files_are_clear_errors(content: bytes, media_type: str, kind: str) -> None:
    assert [error_type for _, error_type in errors_of(content, media_type)] == [kind]


def test_the_data_sheet_is_read_when_there_is_one() -> None:
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.append(["read me first"])
    workbook.create_sheet("data").append(["key", "amount"])
    workbook["data"].append(["haies", 1])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert [model.key for _, model in read(buffer.getvalue(), XLSX_MEDIA_TYPE)] == ["haies"]


def test_column_names_compare_without_case_accents_or_separators() -> None:
    assert {column_key(name) for name in ("Lever id", "lever-id", " LEVER_ID ", "Lévèr Id")} == {"lever_id"}
    assert split_list(" a | b ,c,, ") == ["a", "b", "c"]


def test_an_export_s_metadata_lines_are_skipped_when_asked_and_rows_keep_their_numbers() -> None:
    exported = (
        "\ufeff# format: CSV, UTF-8, separator ';', decimal comma\r\n"
        '"# note: a; b"\r\n'
        "key;amount\r\nhaies;12,5\r\n\r\nbus;1\r\n"
    ).encode()
    errors = RowErrors("the file", code="invalid-file")
    rows = read_sheet(
        exported,
        "text/csv",
        columns=COLUMNS,
        required=("key",),
        max_rows=10,
        errors=errors,
        skip_metadata=True,
    )
    assert [(row.number, row.values["key"], row.values["amount"]) for row in rows] == [
        (4, "haies", "12.5"),
        (6, "bus", "1"),
    ]
    # Not asked: the `#` rows before the header are skipped all the same, the numbers kept.
    again = read_sheet(exported, "text/csv", columns=COLUMNS, required=("key",), max_rows=10, errors=errors)
    assert [row.number for row in again] == [4, 6]


def test_a_file_our_exports_wrote_reads_back_as_it_is() -> None:
    from planeco_shared.tabular import Column, Kind, Metadata, Table, to_csv, to_xlsx

    table = Table(
        Metadata(title="t", source="s; with a semicolon", version="1", licence="l"),
        [Column("key"), Column("amount", kind=Kind.decimal), Column("tags")],
        [["a-1", Decimal("12.50"), "-moins|=plus"], ["b-2", Decimal("3"), "@x"]],
    )
    errors = RowErrors("the file", code="invalid-file")
    for content in (to_csv(table), to_xlsx(table)):
        rows = read_sheet(
            content,
            "text/csv",
            columns=("key", "amount", "tags"),
            required=("key",),
            max_rows=10,
            errors=errors,
        )
        assert [row.values for row in rows] == [
            {"key": "a-1", "amount": "12.5", "tags": "-moins|=plus"},
            {"key": "b-2", "amount": "3", "tags": "@x"},
        ]
    csv_rows = read_sheet(
        to_csv(table), "text/csv", columns=("key", "amount", "tags"), required=(), max_rows=10, errors=errors
    )
    # Numbered as in the file: 6 metadata lines, then the header (line 7), then the rows.
    assert [row.number for row in csv_rows] == [8, 9]
