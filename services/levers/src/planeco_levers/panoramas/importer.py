"""Reading and validating an SGPE panorama file (pure: no database).

The whole file is checked before anything is written: JSON syntax, one object per row, the fields and their
types (pydantic, strict: a number must be a JSON number, a flag a JSON boolean), région names, sectors and
groups, duplicated lever × région rows, consistency (`unitPhys` when the lever has a physical unit). Every
problem is collected with its row (index in the JSON array, from 0) and field; a file with any error is
refused as a whole.

Schema variants handled (see data/sgpe-panorama/SOURCES.md): `regionLocked`/`regionLockedComment` (2023)
versus `regionHidden`/`regionLimited` (2024), each kept as given and null when the version lacks it;
`unitPhys` absent on levers without a physical unit, `unitCO2` sometimes absent; three spellings of PACA;
`Région exemple` skipped with a warning; fields not known here are ignored with a warning.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from planeco_levers.levers.vocabulary import GROUP_VOCABULARY, SECTOR_VOCABULARY, Term, Vocabulary
from planeco_levers.panoramas.regions import is_demonstration_region, is_overseas, region_code_of
from planeco_shared.problems import FieldError
from planeco_shared.text import FreeText, NonBlankText

PANORAMA_DIR = Path(__file__).resolve().parents[3] / "data" / "sgpe-panorama"
VERSION_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$"
LEVER_ID_PATTERN = r"^[\w-]{1,80}$"
MAX_REPORTED_ERRORS = 100
MAX_DECIMAL_PLACES = 6  # the storage scale: NUMERIC(18, 6)
MAX_MAGNITUDE = Decimal(10) ** 9  # ≤ 15 significant digits: exact on both databases


def shipped_panoramas(directory: Path = PANORAMA_DIR) -> list[tuple[str, Path]]:
    """(version, file) of the panoramas shipped with the service, oldest first."""
    found = []
    for path in sorted(directory.glob("panorama-*.json")):
        version = version_from_filename(path.name)
        if version is not None:
            found.append((version, path))
    return found


def version_from_filename(name: str) -> str | None:
    """'panorama-2024-07-24.json' → '2024-07-24'."""
    match = re.search(r"(\d{4}-\d{2}-\d{2})", name)
    if match is None or re.match(VERSION_PATTERN, match.group(1)) is None:
        return None
    return match.group(1)


def _json_number(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError("must be a JSON number")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("must be a finite number")
    if abs(number) >= MAX_MAGNITUDE:
        raise ValueError(f"must be less than {MAX_MAGNITUDE} in absolute value")
    if number != number.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES)):
        raise ValueError(f"has more than {MAX_DECIMAL_PLACES} decimal places")
    return number


JsonNumber = Annotated[Decimal, BeforeValidator(_json_number)]
Label = Annotated[NonBlankText, StringConstraints(min_length=1, max_length=300)]
LongText = Annotated[FreeText, Field(max_length=100_000)]


class PanoramaRow(BaseModel):
    """One row of the file as the SGPE writes it (field names are the file's)."""

    model_config = ConfigDict(strict=True, extra="ignore", populate_by_name=False, frozen=True)

    lever_id: Annotated[str, StringConstraints(pattern=LEVER_ID_PATTERN)] = Field(alias="id")
    lever_name: Label = Field(alias="leverName")
    region_name: Label = Field(alias="regionName")
    sector: Label
    group: Label
    objective: JsonNumber = Field(alias="objCO2")
    ratio: JsonNumber = Field(alias="ratioCO2toPhys")
    start_2019: JsonNumber = Field(alias="startPoint2019")
    no_translation: bool = Field(alias="noTranslation")
    edition_disabled: bool = Field(alias="editionDisabled")
    show_target: bool = Field(True, alias="showTarget")
    relative: bool | None = None
    unit_physical: LongText | None = Field(None, alias="unitPhys")
    unit_co2: LongText | None = Field(None, alias="unitCO2")
    region_enabled: bool | None = Field(None, alias="regionEnabled")
    region_locked: bool | None = Field(None, alias="regionLocked")
    region_hidden: bool | None = Field(None, alias="regionHidden")
    region_limited: bool | None = Field(None, alias="regionLimited")
    comment: LongText | None = None
    region_comment: LongText | None = Field(None, alias="regionComment")
    region_locked_comment: LongText | None = Field(None, alias="regionLockedComment")
    disabled_comment: LongText | None = Field(None, alias="disabledComment")
    path_sector: LongText | None = Field(None, alias="pathSector")
    path_group: LongText | None = Field(None, alias="pathGroup")


KNOWN_FIELDS = frozenset((info.alias or name) for name, info in PanoramaRow.model_fields.items())


@dataclass(frozen=True, slots=True)
class ObjectiveRow:
    """A validated row, keyed by INSEE code, with normalised sector and group ids."""

    row_index: int
    lever_id: str
    region_code: str
    region_name_source: str
    name: str
    sector_id: str
    group_id: str
    objective_ktco2e: Decimal
    ratio: Decimal
    start_2019: Decimal
    unit_physical: str | None
    unit_co2: str | None
    has_physical_unit: bool
    editable: bool
    show_target: bool
    relative: bool | None
    region_enabled: bool | None
    region_locked: bool | None
    region_hidden: bool | None
    region_limited: bool | None
    comment: str | None
    region_comment: str | None
    region_locked_comment: str | None
    disabled_comment: str | None
    path_sector: str | None
    path_group: str | None


@dataclass(frozen=True, slots=True)
class LeverSummary:
    """A lever of one version: the attributes most of its régions share (ties: the first row's)."""

    lever_id: str
    position: int
    name: str
    sector_id: str
    group_id: str
    unit_physical: str | None
    unit_co2: str | None
    has_physical_unit: bool
    editable: bool
    show_target: bool
    in_mainland: bool
    in_overseas: bool
    region_count: int
    varies_by_region: list[str]


@dataclass(slots=True)
class ParsedPanorama:
    content_sha256: str
    row_count: int
    objectives: list[ObjectiveRow]
    levers: list[LeverSummary]
    sectors: list[Term]
    groups: list[Term]
    skipped_row_count: int
    source_fields: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def region_count(self) -> int:
        return len({o.region_code for o in self.objectives})


class PanoramaFileError(Exception):
    """The file cannot be imported; `errors` say where (capped at MAX_REPORTED_ERRORS)."""

    def __init__(self, message: str, errors: list[FieldError], total_errors: int | None = None) -> None:
        self.total_errors = total_errors if total_errors is not None else len(errors)
        shown = "" if self.total_errors <= len(errors) else f" (the first {len(errors)} are listed)"
        super().__init__(f"{message}: {self.total_errors} error(s){shown}" if errors else message)
        self.message = str(self)
        self.errors = errors


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode(content: bytes) -> Any:
    """JSON → Python with every non-integer number as an exact Decimal."""
    try:
        return json.loads(content, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise PanoramaFileError(
            "The file is not valid JSON",
            [FieldError(loc=["file"], msg=f"{exc.msg} (line {exc.lineno}, column {exc.colno})", type="json")],
        ) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise PanoramaFileError(
            "The file is not valid JSON", [FieldError(loc=["file"], msg=str(exc), type="json")]
        ) from exc


def content_hash(data: Any) -> str:
    """sha256 of the parsed content in canonical form: the same data re-serialised hashes the same."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


T = TypeVar("T")


def _mode(values: Iterable[T]) -> T:
    """The most frequent value; among equals, the first seen."""
    return Counter(values).most_common(1)[0][0]


class _Collector:
    def __init__(self) -> None:
        self.errors: list[FieldError] = []
        self.total = 0

    def add(self, loc: list[str | int], msg: str, type_: str) -> None:
        self.total += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(FieldError(loc=loc, msg=msg, type=type_))


def parse_panorama(content: bytes) -> ParsedPanorama:
    """Validate a whole panorama file; raise PanoramaFileError listing every problem found."""
    return validate_panorama(decode(content))


def validate_panorama(data: Any) -> ParsedPanorama:
    if not isinstance(data, list):
        raise PanoramaFileError(
            "The file must be a JSON array of rows (one per lever × région)",
            [FieldError(loc=["file"], msg="expected a JSON array", type="array_type")],
        )
    if not data:
        raise PanoramaFileError(
            "The file has no rows", [FieldError(loc=["file"], msg="the array is empty", type="too_short")]
        )
    problems = _Collector()
    warnings: list[str] = []
    objectives: list[ObjectiveRow] = []
    seen: dict[tuple[str, str], int] = {}
    skipped: Counter[str] = Counter()
    fields_seen: set[str] = set()
    unknown_fields: Counter[str] = Counter()
    new_terms: dict[str, set[str]] = {"sector": set(), "group": set()}
    sectors: dict[str, Term] = {}
    groups: dict[str, Term] = {}

    def resolve(vocabulary: Vocabulary, kind: str, label: str, into: dict[str, Term]) -> str:
        term, known = vocabulary.resolve(label)
        if not known:
            new_terms[kind].add(f"{label!r} → {term.id!r}")
        into.setdefault(term.id, term)
        return term.id

    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            problems.add(["row", index], "each row must be a JSON object", "dict_type")
            continue
        fields_seen.update(raw)
        unknown_fields.update(k for k in raw if k not in KNOWN_FIELDS)
        try:
            row = PanoramaRow.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors(include_url=False, include_input=False):
                loc = [p if isinstance(p, int) else str(p) for p in error["loc"]]
                message = error["msg"].removeprefix("Value error, ")
                problems.add(["row", index, *loc], message, error["type"])
            continue
        if is_demonstration_region(row.region_name):
            skipped[row.region_name] += 1
            continue
        region_code = region_code_of(row.region_name)
        if region_code is None:
            problems.add(
                ["row", index, "regionName"],
                f"unknown région name {row.region_name!r}: not in the table of région names",
                "unknown_region",
            )
            continue
        key = (row.lever_id, region_code)
        if key in seen:
            problems.add(
                ["row", index, "id"],
                f"duplicate: lever {row.lever_id!r} for région {region_code} is already in row {seen[key]}",
                "duplicate",
            )
            continue
        seen[key] = index
        if not row.no_translation and not (row.unit_physical or "").strip():
            problems.add(
                ["row", index, "unitPhys"],
                "required when noTranslation is false (the lever has a physical unit)",
                "missing",
            )
            continue
        objectives.append(
            ObjectiveRow(
                row_index=index,
                lever_id=row.lever_id,
                region_code=region_code,
                region_name_source=row.region_name,
                name=row.lever_name,
                sector_id=resolve(SECTOR_VOCABULARY, "sector", row.sector, sectors),
                group_id=resolve(GROUP_VOCABULARY, "group", row.group, groups),
                objective_ktco2e=row.objective,
                ratio=row.ratio,
                start_2019=row.start_2019,
                unit_physical=row.unit_physical,
                unit_co2=row.unit_co2,
                has_physical_unit=not row.no_translation,
                editable=not row.edition_disabled,
                show_target=row.show_target,
                relative=row.relative,
                region_enabled=row.region_enabled,
                region_locked=row.region_locked,
                region_hidden=row.region_hidden,
                region_limited=row.region_limited,
                comment=row.comment,
                region_comment=row.region_comment,
                region_locked_comment=row.region_locked_comment,
                disabled_comment=row.disabled_comment,
                path_sector=row.path_sector,
                path_group=row.path_group,
            )
        )

    if problems.total:
        raise PanoramaFileError("The file is not a valid panorama", problems.errors, problems.total)
    if not objectives:
        raise PanoramaFileError(
            "The file has no row for a real région",
            [FieldError(loc=["file"], msg="every row was skipped", type="too_short")],
        )

    for name, count in skipped.items():
        warnings.append(f"skipped {count} rows of {name!r}: a demonstration région, not a territory")
    for field_name, count in sorted(unknown_fields.items()):
        warnings.append(f"unknown field {field_name!r} ignored ({count} rows)")
    for kind, labels in new_terms.items():
        for label in sorted(labels):
            warnings.append(f"unknown {kind} label {label}: kept as a new {kind}")

    levers = summarise_levers(objectives)
    for lever in levers:
        sectors_of_lever = {o.sector_id for o in objectives if o.lever_id == lever.lever_id}
        if len(sectors_of_lever) > 1:
            warnings.append(
                f"lever {lever.lever_id!r} is in several sectors {sorted(sectors_of_lever)}; "
                f"the catalogue shows {lever.sector_id!r}"
            )

    return ParsedPanorama(
        content_sha256=content_hash(data),
        row_count=len(data),
        objectives=objectives,
        levers=levers,
        sectors=sorted(sectors.values(), key=lambda t: SECTOR_VOCABULARY.position(t.id)),
        groups=sorted(groups.values(), key=lambda t: GROUP_VOCABULARY.position(t.id)),
        skipped_row_count=sum(skipped.values()),
        source_fields=sorted(fields_seen),
        warnings=warnings,
    )


# Attributes a lever may have differently in some régions (the objective row keeps each région's own).
_VARYING: dict[str, Callable[[ObjectiveRow], object]] = {
    "name": lambda o: o.name,
    "unit_physical": lambda o: o.unit_physical,
    "unit_co2": lambda o: o.unit_co2,
    "has_physical_unit": lambda o: o.has_physical_unit,
    "editable": lambda o: o.editable,
    "show_target": lambda o: o.show_target,
    "ratio": lambda o: o.ratio,
}


def summarise_levers(objectives: list[ObjectiveRow]) -> list[LeverSummary]:
    by_lever: dict[str, list[ObjectiveRow]] = {}
    for objective in objectives:
        by_lever.setdefault(objective.lever_id, []).append(objective)
    summaries = []
    for position, (lever_id, rows) in enumerate(by_lever.items()):
        units = [r.unit_physical for r in rows if r.unit_physical]
        units_co2 = [r.unit_co2 for r in rows if r.unit_co2]
        summaries.append(
            LeverSummary(
                lever_id=lever_id,
                position=position,
                name=_mode(r.name for r in rows),
                sector_id=_mode(r.sector_id for r in rows),
                group_id=_mode(r.group_id for r in rows),
                unit_physical=_mode(units) if units else None,
                unit_co2=_mode(units_co2) if units_co2 else None,
                has_physical_unit=_mode(r.has_physical_unit for r in rows),
                editable=_mode(r.editable for r in rows),
                show_target=_mode(r.show_target for r in rows),
                in_mainland=any(not is_overseas(r.region_code) for r in rows),
                in_overseas=any(is_overseas(r.region_code) for r in rows),
                region_count=len(rows),
                varies_by_region=[name for name, get in _VARYING.items() if len({get(r) for r in rows}) > 1],
            )
        )
    return summaries
