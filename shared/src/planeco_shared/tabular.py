"""Tables as CSV and XLSX files, and the `?format=` representation of a read that serves them.

A `Table` is metadata (title, source, version, licence, when it was generated, notes), columns (a machine
name and a unit, shown in the header as `objective_ktco2e [ktCO2e]`) and rows of text, exact `Decimal`s and
integers — never floats. It knows nothing of the domain.

**CSV** (`to_csv`): UTF-8 with a byte-order mark (Excel then reads the accents right), `;` as separator and
a decimal comma by default — what a French spreadsheet expects, so it opens in columns and with numbers —,
or a decimal point (`DecimalMark.point`) for programs. Decimals are the exact figures as plain strings
("966,1408"), never rounded, never in exponent notation. CRLF line ends, fields quoted only when needed
(RFC 4180). The file starts with metadata lines that begin with `#` (`# source: …`), the first of them
saying how many there are; the first line that does not begin with `#` is the header and no line after it
is metadata, so a reader skips the leading `#` lines (or `skiprows=N`) and parses the rest as plain CSV.

CSV injection (OWASP): a text cell (header or data) that starts with `=`, `+`, `-`, `@`, a tab or a carriage
return is written with a leading `'`, so a spreadsheet shows it instead of running it as a formula; numbers
are never changed. A metadata line is one cell that starts with `#`, so what its value starts with is never
a cell's start; but a `;` in it would split the line into cells, the next one starting with whatever follows
(`# source: ok;=HYPERLINK(…)`): such a line is written as one quoted field (`"# source: ok;=HYPERLINK(…)"`,
inner `"` doubled, RFC 4180), the only lines beginning with `"#` rather than `#`. Other lines are unchanged.

**XLSX** (`to_xlsx`, openpyxl): a `data` sheet — header row in bold, frozen, with an autofilter, columns sized
to their content — whose numbers are numeric cells showing exactly the stored decimals (number format
`#,##0.0000` for a figure stored with 4 decimals), codes and other text are text cells (never formulas, so
`01` stays `01`); and a `metadata` sheet with the metadata, the notes and each column's description. Excel
keeps 15 significant digits: a figure with more is rounded to 15 (half even) in the XLSX only, and the
metadata sheet says how many were; the CSV keeps every digit.

**Over HTTP** (`add_export_route`): a JSON read that has a table gets a sibling operation `GET …/export`
with the same parameters plus `?format=csv|xlsx` (required) and, for CSV, `?decimal=comma|point`, declared
with the two file media types only, so that generated clients read the JSON operation as JSON and the export
as bytes; the URL alone names the representation, so links work in a browser and caches need no `Vary`.
A file comes as an attachment named after its content
(`Content-Disposition: attachment; filename="…"`, ASCII). On a public cached read (`public_cache()`), its
ETag is weak (`W/"…"`): it is derived from the data and the format, not from the bytes, which differ by their
`generated_at`; `If-None-Match` still answers 304 without building the file. Files are built in memory (in
a worker thread: the event loop keeps serving); a table over `MAX_CELLS` cells is refused (422).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import inspect
import io
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from planeco_shared.caching import not_reproducible
from planeco_shared.problems import UnprocessableEntity

ViewT = TypeVar("ViewT")

CSV_MEDIA_TYPE = "text/csv"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXCEL_SIGNIFICANT_DIGITS = 15
MAX_CELLS = 1_000_000  # rows × columns; the largest view today (EPCI declination) is ~150 000
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
DATA_SHEET, METADATA_SHEET = "data", "metadata"
MAX_COLUMN_WIDTH, MIN_COLUMN_WIDTH = 60, 8

Value = str | Decimal | int | None


class Kind(StrEnum):
    """What a column holds: it decides how a cell is written and how a reader should parse it."""

    text = "text"
    decimal = "decimal"  # an exact Decimal
    integer = "integer"


class DecimalMark(StrEnum):
    """The CSV's decimal mark."""

    comma = "comma"  # French spreadsheets (with the `;` separator)
    point = "point"  # programs


@dataclass(frozen=True, slots=True)
class Column:
    name: str  # machine name, e.g. "objective_ktco2e"
    unit: str | None = None  # shown in brackets: "ktCO2e", "unit: see column unit"
    kind: Kind = Kind.text
    description: str = ""
    title: str = (
        ""  # a human label (French where the data is), for data packages (planeco_shared.datapackage)
    )

    @property
    def header(self) -> str:
        return f"{self.name} [{self.unit}]" if self.unit else self.name


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class Metadata:
    title: str
    source: str
    version: str
    licence: str  # licence and attribution
    generated_at: dt.datetime = field(default_factory=_now)
    extra: Sequence[tuple[str, str]] = ()  # other named facts: ("region", "24 Centre-Val de Loire")
    notes: Sequence[str] = ()  # how figures are rounded, which rows are totals, …

    def fields(self) -> list[tuple[str, str]]:
        generated = self.generated_at.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        return [
            ("title", self.title),
            ("source", self.source),
            ("version", self.version),
            ("licence", self.licence),
            ("generated_at", generated),
            *self.extra,
            *(("note", note) for note in self.notes),
        ]


@dataclass(frozen=True, slots=True)
class Table:
    metadata: Metadata
    columns: Sequence[Column]
    rows: Sequence[Sequence[Value]]

    def __post_init__(self) -> None:
        width = len(self.columns)
        for number, row in enumerate(self.rows, start=1):
            if len(row) != width:
                raise ValueError(f"row {number} has {len(row)} cells for {width} columns")
            for column, value in zip(self.columns, row, strict=True):
                if value is not None and not _fits(column.kind, value):
                    raise TypeError(
                        f"row {number}, {column.name}: {type(value).__name__} in a {column.kind} column"
                    )

    @classmethod
    def from_records(
        cls, metadata: Metadata, columns: Sequence[Column], records: Iterable[Mapping[str, Value]]
    ) -> Table:
        """Rows given as {column name: value}; a missing name is an empty cell, an unknown one an error."""
        names = [column.name for column in columns]
        known = set(names)
        rows = []
        for record in records:
            unknown = set(record) - known
            if unknown:
                raise ValueError(f"no column named {', '.join(sorted(unknown))}")
            rows.append([record.get(name) for name in names])
        return cls(metadata, columns, rows)

    @property
    def cell_count(self) -> int:
        return len(self.rows) * len(self.columns)


def _fits(kind: Kind, value: object) -> bool:
    if kind is Kind.decimal:
        return isinstance(value, Decimal) and value.is_finite()
    if kind is Kind.integer:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)


def plain_decimal(value: Decimal) -> str:
    """Decimal('966.140800') → '966.1408'; Decimal('1E+3') → '1000'; Decimal('-0.00') → '0'."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def one_line(text: str) -> str:
    return " ".join(text.split())


# CSV


def _csv_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def _metadata_line(name: str, value: str) -> str:
    """`# name: value`, one cell: quoted whole when a `;` would split it (see the module's docstring)."""
    line = f"# {name}: {one_line(value)}"
    return '"' + line.replace('"', '""') + '"' if ";" in line else line


def _csv_preamble(metadata: Metadata, columns: Sequence[Column], *, comma: bool) -> str:
    """The metadata lines and the header row of a CSV, CRLF-terminated."""
    fields = metadata.fields()
    mark = "comma" if comma else "point"
    lines = [
        f"# format: CSV, UTF-8, separator ';', decimal {mark}; the first {len(fields) + 1} lines are "
        f"metadata beginning with '#', line {len(fields) + 2} is the header"
    ]
    lines += [_metadata_line(name, value) for name, value in fields]
    out = io.StringIO()
    out.write("\r\n".join(lines) + "\r\n")
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow([_csv_text(c.header) for c in columns])
    return out.getvalue()


def _csv_cells(row: Sequence[Value], *, comma: bool) -> list[str]:
    cells: list[str] = []
    for value in row:
        if value is None:
            cells.append("")
        elif isinstance(value, Decimal):
            text = plain_decimal(value)
            cells.append(text.replace(".", ",") if comma else text)
        elif isinstance(value, int):
            cells.append(str(value))
        else:
            cells.append(_csv_text(value))
    return cells


def to_csv(table: Table, *, decimal_mark: DecimalMark = DecimalMark.comma) -> bytes:
    comma = decimal_mark is DecimalMark.comma
    out = io.StringIO()
    out.write(_csv_preamble(table.metadata, table.columns, comma=comma))
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    for row in table.rows:
        writer.writerow(_csv_cells(row, comma=comma))
    return out.getvalue().encode("utf-8-sig")


def to_data_csv(table: Table) -> bytes:
    """The rows as a plain data file, for programs and data packages (`planeco_shared.datapackage`):
    UTF-8 without byte-order mark, `,` separator, decimal point, CRLF, the header naming the columns
    (no units: a data package's Table Schema describes them), no metadata lines (the package holds them).
    Text cells get the same CSV-injection guard as `to_csv`; numbers are exact plain decimals."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=",", lineterminator="\r\n")
    writer.writerow([_csv_text(column.name) for column in table.columns])
    for row in table.rows:
        writer.writerow(
            [
                ""
                if value is None
                else plain_decimal(value)
                if isinstance(value, Decimal)
                else str(value)
                if isinstance(value, int)
                else _csv_text(value)
                for value in row
            ]
        )
    return out.getvalue().encode("utf-8")


# XLSX


def excel_decimal(value: Decimal) -> tuple[Decimal, bool]:
    """The value with at most 15 significant digits (half even), and whether it had to be rounded."""
    if value.is_zero():
        return Decimal(0), False
    normal = value.normalize()
    if len(normal.as_tuple().digits) <= EXCEL_SIGNIFICANT_DIGITS:
        return normal, False
    quantum = Decimal(1).scaleb(normal.adjusted() - EXCEL_SIGNIFICANT_DIGITS + 1)
    return normal.quantize(quantum, rounding=ROUND_HALF_EVEN), True


def number_format(value: Decimal) -> str:
    """`#,##0.0000` for a value stored with 4 decimals: the cell shows every stored digit."""
    exponent = value.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return "#,##0." + "0" * decimals if decimals else "#,##0"


def _shown(value: Value) -> str:
    if value is None:
        return ""
    return plain_decimal(value) if isinstance(value, Decimal) else str(value)


def _width(texts: Sequence[str]) -> float:
    longest = max((len(line) for text in texts for line in text.splitlines() or [""]), default=0)
    return float(min(MAX_COLUMN_WIDTH, max(MIN_COLUMN_WIDTH, longest + 2)))


def to_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    data = workbook.active
    assert data is not None
    data.title = DATA_SHEET
    bold = Font(bold=True)
    for index, column in enumerate(table.columns, start=1):
        cell = data.cell(row=1, column=index, value=column.header)
        cell.data_type = "s"
        cell.font = bold
    rounded = 0
    for row_number, row in enumerate(table.rows, start=2):
        for index, value in enumerate(row, start=1):
            if value is None:
                continue
            target = data.cell(row=row_number, column=index)
            if isinstance(value, Decimal):
                shown, was_rounded = excel_decimal(value)
                rounded += was_rounded
                target.value = shown
                target.number_format = number_format(shown)
            elif isinstance(value, int):
                target.value = value
            else:
                target.value = value
                target.data_type = "s"  # text, even when it starts with "=": never a formula
    sample = table.rows[:500]
    for index, column in enumerate(table.columns, start=1):
        texts = [column.header, *(_shown(row[index - 1]) for row in sample)]
        data.column_dimensions[get_column_letter(index)].width = _width(texts)
    data.freeze_panes = "A2"
    if table.columns:
        data.auto_filter.ref = f"A1:{get_column_letter(len(table.columns))}{len(table.rows) + 1}"

    notes = list(table.metadata.notes)
    if rounded:
        notes.append(
            f"{rounded} figure(s) have more than {EXCEL_SIGNIFICANT_DIGITS} significant digits: rounded to "
            f"{EXCEL_SIGNIFICANT_DIGITS} (half even) in this file, Excel's limit; the CSV keeps every digit."
        )
    metadata = workbook.create_sheet(METADATA_SHEET)
    wrap = Alignment(wrap_text=True, vertical="top")
    fields = dataclasses.replace(table.metadata, notes=notes).fields()
    lines: list[tuple[str, str]] = [("field", "value"), *fields, ("", ""), ("column", "description")]
    lines += [(column.header, column.description) for column in table.columns]
    for number, (name, value) in enumerate(lines, start=1):
        for index, text in enumerate((name, value), start=1):
            cell = metadata.cell(row=number, column=index, value=text or None)
            cell.data_type = "s"
            cell.alignment = wrap
            if name in ("field", "column") and value in ("value", "description"):
                cell.font = bold
    metadata.column_dimensions["A"].width = _width([name for name, _ in lines])
    metadata.column_dimensions["B"].width = 100
    metadata.freeze_panes = "A2"

    properties = workbook.properties
    properties.title = table.metadata.title[:255]
    properties.creator = "planeco"
    properties.description = table.metadata.source[:1000]
    generated = table.metadata.generated_at.astimezone(dt.UTC).replace(tzinfo=None)
    properties.created = properties.modified = generated
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# HTTP


class TabularFormat(StrEnum):
    csv = "csv"
    xlsx = "xlsx"


MEDIA_TYPES = {TabularFormat.csv: CSV_MEDIA_TYPE, TabularFormat.xlsx: XLSX_MEDIA_TYPE}
REPRESENTATION_PARAMETERS = frozenset({"format", "decimal"})
EXPORT_SUFFIX = "/export"

FORMAT_DESCRIPTION = (
    "`csv`: a CSV file (UTF-8 with BOM, `;`, `#` metadata lines first, then the header; units in the "
    "headers). `xlsx`: an Excel workbook (a `data` sheet with numeric cells, a `metadata` sheet). The files "
    "come as attachments, named after their content."
)
DECIMAL_DESCRIPTION = (
    "CSV only: `comma` (default) for French spreadsheets (`966,1408`), `point` for programs (`966.1408`)."
)


@dataclass(frozen=True, slots=True)
class Representation:
    format: TabularFormat
    decimal_mark: DecimalMark


async def representation(  # async: no thread-pool hand-off
    format_: Annotated[TabularFormat, Query(alias="format", description=FORMAT_DESCRIPTION)],
    decimal: Annotated[DecimalMark, Query(description=DECIMAL_DESCRIPTION)] = DecimalMark.comma,
) -> Representation:
    return Representation(format_, decimal)


RepresentationDep = Annotated[Representation, Depends(representation)]


def file_responses(description: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entry of an export: a CSV or an XLSX file, as bytes."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        200: {
            "description": description,
            "content": {CSV_MEDIA_TYPE: binary, XLSX_MEDIA_TYPE: binary},
            "headers": {
                "Content-Disposition": {
                    "description": '`attachment; filename="…"` (ASCII)',
                    "schema": {"type": "string"},
                },
            },
        }
    }


_REPRESENTATION_ARG = "export_representation_"
_REQUEST_ARG = "export_request_"


def add_export_route(
    router: APIRouter,
    path: str,
    read: Callable[..., Awaitable[ViewT]],
    *,
    name: str,
    summary: str,
    filename: Callable[[ViewT, dict[str, Any]], str],
    table: Callable[[ViewT], Table],
    responses: dict[int | str, dict[str, Any]] | None = None,
    **route_options: Any,
) -> None:
    """Register `GET {path}/export`: what the JSON read `read` (an endpoint function) answers, as a file.

    The export takes the read's own parameters (its signature, resolved), plus the representation;
    `filename` names the file from the view and the read's arguments."""
    signature = inspect.signature(read, eval_str=True)

    async def export(**arguments: Any) -> Response:
        representation_ = arguments.pop(_REPRESENTATION_ARG)
        request = arguments.pop(_REQUEST_ARG)
        view = await read(**arguments)
        return await tabular_response(
            request,
            representation_,
            filename=filename(view, arguments),
            build=lambda: table(view),
        )

    extra = [
        inspect.Parameter(_REPRESENTATION_ARG, inspect.Parameter.KEYWORD_ONLY, annotation=RepresentationDep),
        inspect.Parameter(_REQUEST_ARG, inspect.Parameter.KEYWORD_ONLY, annotation=Request),
    ]
    export.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), *extra], return_annotation=Response
    )
    router.add_api_route(
        path + EXPORT_SUFFIX,
        export,
        methods=["GET"],
        name=name,
        summary=summary,
        response_class=Response,
        responses={**file_responses(summary), **(responses or {})},
        **route_options,
    )


def ascii_filename(stem: str) -> str:
    """'planeco-Île de France/é' → 'planeco-Ile-de-France-e': letters, digits, '.', '_' and '-' only."""
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9._-]+", "-", folded)).strip("-.") or "export"


def _resource(request: Request) -> str:
    """The JSON read an export is the file of: its path without `/export`, its query without the format."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k not in REPRESENTATION_PARAMETERS]
    path = request.url.path.removesuffix(EXPORT_SUFFIX)
    return path + ("?" + urlencode(query) if query else "")


def render(table: Table, representation: Representation) -> bytes:
    if representation.format is TabularFormat.xlsx:
        return to_xlsx(table)
    return to_csv(table, decimal_mark=representation.decimal_mark)


async def tabular_response(
    request: Request,
    representation: Representation,
    *,
    filename: str,
    build: Callable[[], Table],
) -> Response:
    """The file of a CSV or XLSX representation. On a `public_cache()` route the read cache gives it its
    (weak) ETag and answers a matching `If-None-Match` before the endpoint runs."""
    not_reproducible(request)  # the bytes carry their generated_at
    headers: dict[str, str] = {}
    table = build()
    if table.cell_count > MAX_CELLS:
        raise UnprocessableEntity(
            f"This export would have {table.cell_count} cells, more than {MAX_CELLS}: narrow it down",
            code="export-too-large",
        )
    resource = ("json_view", _resource(request))
    table = dataclasses.replace(
        table, metadata=dataclasses.replace(table.metadata, extra=[*table.metadata.extra, resource])
    )
    content = await run_in_threadpool(render, table, representation)
    name = f"{ascii_filename(filename)}.{representation.format}"
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    media_type = MEDIA_TYPES[representation.format]
    if representation.format is TabularFormat.csv:
        media_type += "; charset=utf-8; header=present"
    return Response(content, media_type=media_type, headers=headers)


# Streamed files: the rows come from an async iterator (a database cursor) and go out in chunks, so that
# memory stays flat in the number of rows (no MAX_CELLS limit).

STREAM_BATCH_ROWS = 1000
STREAM_CHUNK_BYTES = 64 * 1024
RowStream = AsyncIterator[Sequence[Value]]


def _checked(columns: Sequence[Column], row: Sequence[Value], number: int) -> Sequence[Value]:
    """A row as `Table` would accept it (same width, no float), else the same error."""
    if len(row) != len(columns):
        raise ValueError(f"row {number} has {len(row)} cells for {len(columns)} columns")
    for column, value in zip(columns, row, strict=True):
        if value is not None and not _fits(column.kind, value):
            raise TypeError(f"row {number}, {column.name}: {type(value).__name__} in a {column.kind} column")
    return row


async def stream_csv(
    metadata: Metadata,
    columns: Sequence[Column],
    rows: RowStream,
    *,
    decimal_mark: DecimalMark = DecimalMark.comma,
) -> AsyncIterator[bytes]:
    """`to_csv`'s bytes, in chunks of about `STREAM_BATCH_ROWS` rows."""
    comma = decimal_mark is DecimalMark.comma
    yield _csv_preamble(metadata, columns, comma=comma).encode("utf-8-sig")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    number = 0
    async for row in rows:
        number += 1
        writer.writerow(_csv_cells(_checked(columns, row, number), comma=comma))
        if number % STREAM_BATCH_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


async def stream_xlsx(metadata: Metadata, columns: Sequence[Column], rows: RowStream) -> AsyncIterator[bytes]:
    """`to_xlsx`'s workbook (a `data` sheet, a `metadata` sheet), written row by row by openpyxl's
    write-only mode to a temporary file, then sent in chunks. Columns are sized to their headers."""
    workbook = Workbook(write_only=True)
    data = workbook.create_sheet(DATA_SHEET)
    bold = Font(bold=True)
    for index, column in enumerate(columns, start=1):
        data.column_dimensions[get_column_letter(index)].width = _width([column.header])
    data.freeze_panes = "A2"

    def header(text: str) -> Any:  # a WriteOnlyCell (a factory function in openpyxl's stubs)
        cell = WriteOnlyCell(data, value=text)
        cell.font = bold
        cell.data_type = "s"
        return cell

    data.append([header(column.header) for column in columns])
    rounded = 0
    number = 0
    async for row in rows:
        number += 1
        cells: list[Any] = []
        for value in _checked(columns, row, number):
            if isinstance(value, Decimal):
                shown, was_rounded = excel_decimal(value)
                rounded += was_rounded
                cell = WriteOnlyCell(data, value=shown)  # type: ignore[arg-type]  # openpyxl writes Decimals
                cell.number_format = number_format(shown)
                cells.append(cell)
            elif isinstance(value, str):
                cell = WriteOnlyCell(data, value=value)
                cell.data_type = "s"  # text, never a formula
                cells.append(cell)
            else:
                cells.append(value)
        data.append(cells)
    if columns:
        data.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{number + 1}"
    notes = list(metadata.notes)
    if rounded:
        notes.append(
            f"{rounded} figure(s) have more than {EXCEL_SIGNIFICANT_DIGITS} significant digits: rounded to "
            f"{EXCEL_SIGNIFICANT_DIGITS} (half even) in this file, Excel's limit; the CSV keeps every digit."
        )
    sheet = workbook.create_sheet(METADATA_SHEET)
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 100
    fields = dataclasses.replace(metadata, notes=notes).fields()
    lines: list[tuple[str, str]] = [("field", "value"), *fields, ("", ""), ("column", "description")]
    lines += [(column.header, column.description) for column in columns]
    for name, value in lines:
        sheet.append([header(name) if value in ("value", "description") else name or None, value or None])
    properties = workbook.properties
    properties.title = metadata.title[:255]
    properties.creator = "planeco"
    properties.description = metadata.source[:1000]
    generated = metadata.generated_at.astimezone(dt.UTC).replace(tzinfo=None)
    properties.created = properties.modified = generated
    with tempfile.TemporaryFile() as out:
        await run_in_threadpool(workbook.save, out)
        out.seek(0)
        while chunk := await run_in_threadpool(out.read, STREAM_CHUNK_BYTES):
            yield chunk


def streamed_tabular_response(
    representation: Representation,
    *,
    filename: str,
    metadata: Metadata,
    columns: Sequence[Column],
    rows: Callable[[], RowStream],
) -> StreamingResponse:
    """A CSV or XLSX file of rows read as they are sent (`rows()` is called when the body starts)."""
    if representation.format is TabularFormat.xlsx:
        body = stream_xlsx(metadata, columns, rows())
    else:
        body = stream_csv(metadata, columns, rows(), decimal_mark=representation.decimal_mark)
    name = f"{ascii_filename(filename)}.{representation.format}"
    return StreamingResponse(
        body,
        media_type=MEDIA_TYPES[representation.format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
