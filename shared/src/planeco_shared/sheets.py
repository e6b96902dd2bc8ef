"""Spreadsheet imports: a CSV or XLSX file read into rows, each row checked against a pydantic model,
every error reported by row and column, and nothing applied unless every row is valid.

The one way every bulk import reads its file (support measures, roadmaps, contacts), so that a regional
IT team sees the same rules everywhere:

- The format is recognised from the bytes (an XLSX is a ZIP archive), whatever the `Content-Type` says among
  those accepted (`text/csv`, the XLSX type, `application/octet-stream`): generated clients send a file as
  bytes under one media type, and a browser's guess of a type is not always right.
- **CSV**: UTF-8 (a byte-order mark is accepted), separator `;` or `,` detected on the header line, a
  decimal comma accepted with `;` (`12,5`); **XLSX**: the first sheet (or the one named `data`, as our
  exports write it), numbers read exactly as Excel shows them (a float's shortest repr), dates as ISO dates.
- The first row is the header: column names compared without case, accents, spaces or dashes
  (`Lever id`, `lever-id` and `lever_id` are one column); unknown columns are an error, so that a misspelt
  column is not silently dropped; required columns must be there.
- Blank rows are skipped; rows are numbered as in a spreadsheet (the header is row 1, or the first row
  after the leading metadata rows).
- A file our exports wrote reads back as it is (`planeco_shared.tabular`): its leading metadata rows (the
  first cell begins with `#`) are skipped, and a CSV text cell the export guarded against formulas (`'`
  before `=`, `+`, `-`, `@`, a tab or a CR) loses that `'`.
- Each row is validated by the import's pydantic model: an error is `loc: ["row", <n>, <column>]`; up to
  `MAX_ERRORS` are listed, with the total in `detail`. A list column holds values separated by `|` or `,`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from openpyxl import load_workbook
from pydantic import BaseModel, ValidationError

from planeco_shared.problems import FieldError, UnprocessableEntity
from planeco_shared.tabular import CSV_MEDIA_TYPE, FORMULA_TRIGGERS, XLSX_MEDIA_TYPE
from planeco_shared.uploads import CSV_MEDIA_TYPES

ModelT = TypeVar("ModelT", bound=BaseModel)

BINARY_MEDIA_TYPE = "application/octet-stream"
SHEET_MEDIA_TYPES = CSV_MEDIA_TYPES | {XLSX_MEDIA_TYPE, BINARY_MEDIA_TYPE}
ZIP_SIGNATURE = b"PK\x03\x04"  # every XLSX file starts with it (Office Open XML is a ZIP archive)
MAX_ERRORS = 200
LIST_SEPARATOR = re.compile(r"\s*[|,]\s*")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")


@dataclass(frozen=True, slots=True)
class SheetRow:
    number: int  # as in a spreadsheet: the header is row 1
    values: dict[str, str]  # by column name (normalised); "" for an empty cell


class RowErrors:
    """The errors of one import, collected before anything is applied."""

    def __init__(self, what: str, *, code: str) -> None:
        self.what = what
        self.code = code
        self.items: list[FieldError] = []

    def add(self, loc: Sequence[str | int], msg: str, kind: str) -> None:
        self.items.append(FieldError(loc=list(loc), msg=msg, type=kind))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        shown = self.items[:MAX_ERRORS]
        more = f" ({len(self.items) - len(shown)} more not shown)" if len(self.items) > len(shown) else ""
        what = self.what[0].upper() + self.what[1:]
        raise UnprocessableEntity(
            f"{what} has {len(self.items)} error(s); nothing was changed{more}",
            errors=shown,
            code=self.code,
        )


def column_key(name: str) -> str:
    """'Lever id', 'lever-id', 'LEVER_ID', 'Levier Id ' → 'lever_id' (accents folded)."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")


def split_list(text: str) -> list[str]:
    """A list cell: values separated by `|` or `,`, blanks dropped."""
    return [part for part in LIST_SEPARATOR.split(text.strip()) if part]


def read_sheet(
    content: bytes,
    media_type: str,
    *,
    columns: Collection[str],
    required: Collection[str],
    max_rows: int,
    errors: RowErrors,
    skip_metadata: bool = False,
) -> list[SheetRow]:
    """The rows of the file, keyed by the known `columns`; header errors are raised at once (422).
    `skip_metadata`: a CSV may start with the `#` lines our exports write (planeco_shared.tabular), skipped
    (rows keep their numbers in the file), so that an export re-imports."""
    is_xlsx = content.startswith(ZIP_SIGNATURE) or media_type == XLSX_MEDIA_TYPE
    skipped = 0
    if skip_metadata and not is_xlsx:
        content, skipped = without_metadata(content)
    raw_rows = _xlsx_rows(content, errors) if is_xlsx else _csv_rows(content, errors)
    errors.raise_if_any()
    header_row = next(raw_rows, None)
    metadata_rows = 0
    while header_row is not None and header_row and header_row[0].lstrip().startswith("#"):
        metadata_rows += 1  # an export's `# source: …` lines
        header_row = next(raw_rows, None)
    if header_row is None:
        errors.add(["body"], "the file is empty: it needs a header row", "empty")
        errors.raise_if_any()
    assert header_row is not None
    header = [column_key(cell) for cell in header_row]
    known = set(columns)
    for index, name in enumerate(header):
        if not name:
            continue
        if name not in known:
            errors.add(["header", index + 1], f"unknown column {header_row[index]!r}", "unknown_column")
        elif header.index(name) != index:
            errors.add(["header", index + 1], f"column {name!r} appears twice", "duplicate_column")
    for name in sorted(set(required) - set(header)):
        errors.add(["header", name], f"the column {name!r} is required", "missing_column")
    errors.raise_if_any()
    rows: list[SheetRow] = []
    for number, cells in enumerate(raw_rows, start=2 + skipped + metadata_rows):
        if not any(cell.strip() for cell in cells):
            continue
        if len(rows) == max_rows:
            errors.add(["body"], f"at most {max_rows} rows per file", "too_many_rows")
            errors.raise_if_any()
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
            errors.add(["row", number], "the row has more cells than the header has columns", "extra_cells")
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header) if name}
        rows.append(SheetRow(number=number, values=values))
    return rows


def without_metadata(content: bytes) -> tuple[bytes, int]:
    """A CSV without the `#` lines it starts with (an export's metadata), and how many there were."""
    skipped = 0
    start = 3 if content.startswith(b"\xef\xbb\xbf") else 0
    while True:
        end = content.find(b"\n", start)
        line = content[start : end if end >= 0 else len(content)]
        if not (line.startswith(b"#") or line.startswith(b'"#')) or end < 0:
            break
        skipped += 1
        start = end + 1
    return content[start:], skipped


def validate_rows(
    rows: Sequence[SheetRow],
    model: type[ModelT],
    errors: RowErrors,
    *,
    prepare: Callable[[Mapping[str, str]], dict[str, Any]] | None = None,
) -> list[tuple[SheetRow, ModelT]]:
    """Each row as `model` (its errors recorded by row and column); `prepare` turns the cells into the
    model's input (split list cells, drop empty optional ones). The valid rows; check `errors` after."""
    valid: list[tuple[SheetRow, ModelT]] = []
    for row in rows:
        data = prepare(row.values) if prepare is not None else {k: v for k, v in row.values.items() if v}
        try:
            valid.append((row, model.model_validate(data)))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                column = str(error["loc"][0]) if error["loc"] else "row"
                errors.add(["row", row.number, column], _message(error), str(error["type"]))
    return valid


def _message(error: Mapping[str, Any]) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _csv_rows(content: bytes, errors: RowErrors) -> Iterator[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        errors.add(
            ["body"], f"the file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8", "encoding"
        )
        return iter(())
    lines = text.split("\n")
    first_line = next((line for line in lines if not line.lstrip('"').startswith("#")), "")
    delimiter = ";" if first_line.count(";") >= first_line.count(",") and ";" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    if delimiter == ",":
        return ([_unguarded(cell) for cell in row] for row in reader)
    return ([_decimal_point(_unguarded(cell)) for cell in row] for row in reader)


def _unguarded(cell: str) -> str:
    """`'=x` → `=x`: the `'` that `planeco_shared.tabular` writes before a formula trigger."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in FORMULA_TRIGGERS and cell[1:2] else cell


def _decimal_point(cell: str) -> str:
    """With `;` as separator, `12,5` is a French decimal: read it as `12.5`."""
    stripped = cell.strip()
    return stripped.replace(",", ".") if _DECIMAL_COMMA.match(stripped) else cell


def _xlsx_rows(content: bytes, errors: RowErrors) -> Iterator[list[str]]:
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        errors.add(["body"], f"the file is not a readable XLSX workbook ({type(exc).__name__})", "xlsx")
        return iter(())
    sheet = workbook["data"] if "data" in workbook.sheetnames else workbook.worksheets[0]
    return ([_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f") if value == value else ""  # NaN: empty
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def sheet_request_body(example_csv: str, *, description: str | None = None) -> dict[str, Any]:
    """`openapi_extra` of an import that takes a CSV or an XLSX file as its body: one binary media type, so
    that generated clients send the file's bytes as they are (two would give them two bodies of one type);
    the service recognises the format from the bytes and also accepts `text/csv` and the XLSX type."""
    text = (
        "The file, as its bytes: CSV (UTF-8) or XLSX, recognised from its content. `Content-Type` "
        f"`{BINARY_MEDIA_TYPE}`, `{CSV_MEDIA_TYPE}` or `{XLSX_MEDIA_TYPE}`. A CSV looks like:\n\n"
        + "\n".join(f"    {line}" for line in example_csv.splitlines())
    )
    body: dict[str, Any] = {
        "required": True,
        "description": text if description is None else f"{description}\n\n{text}",
        "content": {BINARY_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
    }
    return {"requestBody": body}
