"""A région's declination key from a CSV: parsed and checked row by row, all-or-nothing (pure, no I/O)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from planeco_shared.problems import FieldError, UnprocessableEntity

KEY_CSV_FORMAT = """\
**CSV format.** UTF-8 (a byte-order mark is accepted), separator `;` or `,` (detected on the header line), a
header row with the columns `code` and `value` (case-insensitive, any order; other columns such as `name` are
ignored), then one row per child territory:

| column | content |
|---|---|
| `code` | INSEE code of a département of the région (`45`, `2A`) or SIREN of an EPCI attached to it |
| `value` | its weight: a decimal ≥ 0, at most 6 decimals, below 10⁹ (`12.5`; `12,5` with the `;` separator) |

**Rules.** Every child of the région (every département, or every EPCI attached to the région) appears
exactly once; no other code; the values are not all zero. Only the ratios matter: population, hectares or
percentages give the same split. All or nothing: if any row is invalid nothing changes and the problem lists
every error (up to 200) as `errors: [{loc: ["row", <n>, "code"|"value"], msg, type}]`, rows numbered as in a
spreadsheet (the header is row 1); a child without a row is reported as `loc: ["body", <code>]`
(type `missing_child`); all-zero values as `loc: ["body"]` (type `all_zero`).
"""

COLUMNS = ("code", "value")
MAX_ERRORS = 200
MAX_ROWS = 5_000
MAX_DECIMALS = 6
MAX_VALUE = Decimal(10) ** 9
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, loc: list[str | int], msg: str, kind: str) -> None:
        self.items.append(FieldError(loc=loc, msg=msg, type=kind))

    def raise_if_any(self) -> None:
        if self.items:
            shown = self.items[:MAX_ERRORS]
            more = f" ({len(self.items) - len(shown)} more not shown)" if len(self.items) > len(shown) else ""
            raise UnprocessableEntity(
                f"The key has {len(self.items)} error(s); nothing was changed{more}",
                errors=shown,
                code="invalid-declination-key",
            )


def parse_value(raw: str, *, decimal_comma: bool) -> tuple[Decimal | None, str, str]:
    """(value, "", "") or (None, message, error type)."""
    text = raw.strip()
    if decimal_comma and "," in text and "." not in text:
        text = text.replace(",", ".")
    if not NUMBER.match(text):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        return None, f"{shown!r} is not a decimal number (digits, an optional decimal point)", "decimal"
    value = Decimal(text)
    if value < 0:
        return None, f"{text} is negative: weights are 0 or more", "negative"
    if "." in text and len(text.split(".")[1]) > MAX_DECIMALS:
        return None, f"{text} has more than {MAX_DECIMALS} decimals", "precision"
    if value >= MAX_VALUE:
        return None, f"{text} is too large (at most 999999999.999999); only ratios matter", "too_large"
    return value, "", ""


@dataclass(frozen=True, slots=True)
class KeyRow:
    number: int  # as in a spreadsheet: the header is row 1
    code: str  # normalized ("2a" → "2A"); may be empty
    value: Decimal | None  # None: invalid (its error is already recorded)


def normalize_code(raw: str) -> str:
    """'2a' → '2A'; ' 244 500 468 ' → '244500468'."""
    return "".join(raw.split()).upper()


def read_key_csv(content: bytes) -> tuple[list[KeyRow], Errors]:
    """Decode and parse the file: its rows and the errors found in their values so far.

    An unreadable file (encoding, CSV syntax, missing columns, too many rows) raises 422 at once."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnprocessableEntity(
            "The key must be UTF-8 text",
            errors=[FieldError(loc=["body"], msg=f"not UTF-8 at byte {exc.start}", type="encoding")],
            code="invalid-declination-key",
        ) from exc
    header_line = text.split("\n", 1)[0]
    delimiter = max((";", ",", "\t"), key=header_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise UnprocessableEntity(
            "The file is not readable as CSV",
            errors=[FieldError(loc=["body"], msg=str(exc), type="csv")],
            code="invalid-declination-key",
        ) from exc
    errors = Errors()
    header = [h.strip().lower() for h in records[0]] if records else []
    for column in COLUMNS:
        if column not in header:
            errors.add(
                ["row", 1, column], f"missing column {column!r} (header: code;value)", "missing_column"
            )
    errors.raise_if_any()
    if len(records) - 1 > MAX_ROWS:
        raise UnprocessableEntity(f"The key has more than {MAX_ROWS} rows", code="invalid-declination-key")
    code_at, value_at = header.index("code"), header.index("value")
    rows: list[KeyRow] = []
    for number, record in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in record):
            continue  # blank line
        code = normalize_code(record[code_at]) if code_at < len(record) else ""
        raw_value = record[value_at] if value_at < len(record) else ""
        value, message, kind = parse_value(raw_value, decimal_comma=delimiter != ",")
        if value is None:
            errors.add(["row", number, "value"], message, kind)
        rows.append(KeyRow(number, code, value))
    return rows, errors


def check_key_rows(
    rows: list[KeyRow],
    errors: Errors,
    *,
    children: Mapping[str, str],
    level_label: str,
    region_of: Mapping[str, str],
) -> dict[str, Decimal]:
    """{code: value} for exactly the `children` ({code: name}); raises 422 with every error.

    `region_of` gives the région of listed codes that exist but are not children (foreign codes), so that
    the error says where they belong; `level_label` names the children ("département", "EPCI")."""
    values: dict[str, Decimal] = {}
    listed_at: dict[str, int] = {}
    for row in rows:
        if not row.code:
            errors.add(["row", row.number, "code"], "the code is empty", "missing")
            continue
        if row.code in listed_at:
            errors.add(
                ["row", row.number, "code"],
                f"{row.code} is already listed at row {listed_at[row.code]}",
                "duplicate",
            )
            continue
        listed_at[row.code] = row.number
        if row.code not in children:
            if row.code in region_of:
                errors.add(
                    ["row", row.number, "code"],
                    f"{level_label} {row.code} belongs to région {region_of[row.code]}, not to this one",
                    "foreign_code",
                )
            else:
                hint = " (a spreadsheet may have dropped a leading zero)" if row.code.isdigit() else ""
                errors.add(
                    ["row", row.number, "code"],
                    f"no {level_label} with code {row.code!r}{hint}",
                    "unknown_code",
                )
            continue
        if row.value is not None:
            values[row.code] = row.value
    for code, name in children.items():
        if code not in listed_at:
            errors.add(
                ["body", code],
                f"{level_label} {code} {name} has no row: every {level_label} of the région is listed once",
                "missing_child",
            )
    errors.raise_if_any()
    if all(value == 0 for value in values.values()):
        errors.add(["body"], "every value is 0: the key would give no territory a share", "all_zero")
    errors.raise_if_any()
    return values
