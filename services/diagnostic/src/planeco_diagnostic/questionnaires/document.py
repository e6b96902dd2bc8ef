"""The questionnaire document (format `planeco-questionnaire/1`): one JSON shape for the content's read,
the import and the export, its JSON Schema (published), and the rules a schema cannot say.

Parsing gives the structural errors (pydantic: unknown kind, a field of another kind, a missing unit…);
`rule_errors` then gives the rules across fields (keys unique in the document, an item's levers and
respondent types within its section's and the document's, bounds in order); the levers service checks
that every lever exists (`planeco_diagnostic.questionnaires.service`). Every error names its JSON path
(`loc`: `["body", "sections", 2, "lever_ids", 0]`, i.e. `sections[2].lever_ids[0]`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from planeco_shared.problems import BadRequest, FieldError, UnprocessableEntity
from planeco_shared.text import FreeText, NonBlankText

FORMAT = "planeco-questionnaire/1"
MAX_DOCUMENT_BYTES = 2_000_000

KEY_PATTERN = r"^[a-z0-9-]{2,60}$"
# A decimal in plain notation, as a string (exact, and the same string in the export).
DECIMAL_PATTERN = r"^-?\d{1,15}(\.\d{1,15})?$"

Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Label = Annotated[NonBlankText, StringConstraints(max_length=500)]
Help = Annotated[FreeText, StringConstraints(max_length=5_000)]
LeverId = Annotated[NonBlankText, StringConstraints(max_length=60)]
DecimalString = Annotated[str, StringConstraints(pattern=DECIMAL_PATTERN)]


class RespondentType(StrEnum):
    region = "region"
    departement = "departement"
    epci = "epci"
    commune = "commune"


class ItemKind(StrEnum):
    action = "action"
    text = "text"
    number = "number"
    single_choice = "single_choice"
    multiple_choice = "multiple_choice"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Quantity(_Strict):
    """What an action item asks to quantify, in `unit`; 1 `unit` = `lever_unit_factor` × the lever's
    physical unit (for the conversion to ktCO2e)."""

    label: Label = Field(examples=["Véhicules électriques dans la flotte"])
    unit: Annotated[NonBlankText, StringConstraints(max_length=100)] = Field(examples=["véhicules"])
    lever_unit_factor: DecimalString = Field(
        description="Decimal string, > 0: one `unit` is this many of the lever's physical unit",
        examples=["0.001"],
    )
    maximum: DecimalString | None = Field(
        default=None,
        # left out of the document when unset: documents written before it keep their export and hash
        exclude_if=lambda value: value is None,
        description="Optional; default none: the largest quantity an answer may give, in `unit` (above: 422 "
        "naming the answer), for a figure that cannot exceed a known bound (the vehicles of a fleet)",
        examples=["5000"],
    )


class Option(_Strict):
    key: Key = Field(examples=["oui"])
    label: Label = Field(examples=["Oui"])


class _ItemBase(_Strict):
    key: Key = Field(description="Unique in the document", examples=["flotte-electrique"])
    label: Label = Field(examples=["Électrifier la flotte de véhicules de la collectivité"])
    help: Help = Field(default="", description="Optional; default empty")
    lever_ids: list[LeverId] | None = Field(
        default=None,
        min_length=1,
        description="Optional; default (null): the section's levers. Within the section's",
    )
    respondent_types: list[RespondentType] | None = Field(
        default=None,
        min_length=1,
        description="Optional; default (null): the document's respondent types. Within the document's",
    )


class ActionItem(_ItemBase):
    """An action within the competences of collectivités. Its answer (pertinence, mobilisation, needs,
    comment, quantity) is fixed by the service, not by the document."""

    kind: Literal["action"]
    quantity: Quantity | None = Field(
        default=None, description="Optional: the quantity the answer reports (one lever only)"
    )


class TextItem(_ItemBase):
    kind: Literal["text"]
    max_length: int = Field(default=2000, ge=1, le=10_000, description="Optional; default 2000")


class NumberItem(_ItemBase):
    kind: Literal["number"]
    unit: Annotated[FreeText, StringConstraints(max_length=100)] = Field(
        default="", description="Optional; default empty", examples=["€"]
    )
    minimum: DecimalString | None = Field(default=None, description="Decimal string; null: no bound")
    maximum: DecimalString | None = Field(default=None, description="Decimal string; null: no bound")


class SingleChoiceItem(_ItemBase):
    kind: Literal["single_choice"]
    options: list[Option] = Field(min_length=2, max_length=50)


class MultipleChoiceItem(_ItemBase):
    kind: Literal["multiple_choice"]
    options: list[Option] = Field(min_length=2, max_length=50)


Item = Annotated[
    ActionItem | TextItem | NumberItem | SingleChoiceItem | MultipleChoiceItem, Field(discriminator="kind")
]
KINDS = frozenset(k.value for k in ItemKind)


class Section(_Strict):
    key: Key = Field(description="Unique in the document", examples=["mobilite-vehicules"])
    title: Label = Field(examples=["Mobilité : véhicules"])
    description: Help = Field(default="", description="Optional; default empty")
    lever_ids: list[LeverId] = Field(min_length=1, description="Lever ids of the levers service")
    items: list[Item] = Field(min_length=1, max_length=500)


class QuestionnaireDocument(_Strict):
    """A whole questionnaire: the JSON of its import and export (format `planeco-questionnaire/1`)."""

    model_config = ConfigDict(title="QuestionnaireDocument")

    format: Literal["planeco-questionnaire/1"]
    title: Annotated[NonBlankText, StringConstraints(min_length=3, max_length=200)] = Field(
        examples=["Diagnostic territorial de la planification écologique"]
    )
    description: Annotated[FreeText, StringConstraints(max_length=10_000)] = Field(
        default="", description="Optional; default empty"
    )
    respondent_types: list[RespondentType] = Field(min_length=1, max_length=4)
    sections: list[Section] = Field(max_length=200, description="May be empty while a draft")


def json_path(loc: Sequence[str | int]) -> str:
    """`["sections", 2, "lever_ids", 0]` → `sections[2].lever_ids[0]`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _clean_loc(loc: Sequence[str | int]) -> list[str | int]:
    """Pydantic puts the union's tag in a path (`items, 0, action, quantity`): the JSON has no such step."""
    cleaned: list[str | int] = []
    for index, part in enumerate(loc):
        if isinstance(part, str) and part in KINDS and index >= 2 and loc[index - 2] == "items":
            continue
        cleaned.append(part)
    return cleaned


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen[key] = value
    return seen


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def parse_document(content: bytes, *, prefix: Sequence[str | int] = ("body",)) -> QuestionnaireDocument:
    """The document in `content` (UTF-8 JSON), or a 422 listing every structural and rule error."""
    loc = list(prefix)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The document is not UTF-8 text") from None
    try:
        raw = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except _DuplicateKey as duplicate:
        message = f"An object has the member {duplicate.key!r} twice"
        raise UnprocessableEntity(
            "The document is not valid JSON for a questionnaire; see `errors`.",
            errors=[FieldError(loc=loc, msg=message, type="json_duplicate_key")],
        ) from None
    except json.JSONDecodeError as error:
        raise UnprocessableEntity(
            "The document is not valid JSON; see `errors`.",
            errors=[FieldError(loc=loc, msg=f"Invalid JSON: {error}", type="json_invalid")],
        ) from None
    return validate_document(raw, prefix=prefix)


def validate_document(raw: Any, *, prefix: Sequence[str | int] = ("body",)) -> QuestionnaireDocument:
    try:
        document = QuestionnaireDocument.model_validate(raw)
    except ValidationError as error:
        errors = []
        for e in error.errors(include_url=False, include_context=False, include_input=False):
            loc = _clean_loc([p if isinstance(p, int) else str(p) for p in e["loc"]])
            if e["type"] in ("union_tag_invalid", "union_tag_not_found"):
                loc.append("kind")  # the item's kind is what is wrong or missing
            errors.append(FieldError(loc=[*prefix, *loc], msg=e["msg"], type=e["type"]))
        raise UnprocessableEntity(
            "The questionnaire document is invalid; see `errors`.", errors=errors
        ) from None
    errors = rule_errors(document, prefix=prefix)
    if errors:
        raise UnprocessableEntity("The questionnaire document is invalid; see `errors`.", errors=errors)
    return document


def rule_errors(document: QuestionnaireDocument, *, prefix: Sequence[str | int] = ()) -> list[FieldError]:
    """The rules across fields, each error at its JSON path."""
    errors: list[FieldError] = []

    def fail(loc: Sequence[str | int], msg: str, type_: str) -> None:
        errors.append(FieldError(loc=[*prefix, *loc], msg=msg, type=type_))

    def unique(values: Sequence[str], loc: list[str | int], what: str) -> None:
        seen: set[str] = set()
        for index, value in enumerate(values):
            if value in seen:
                fail([*loc, index], f"{what} {value!r} is listed twice", "duplicate")
            seen.add(value)

    unique([t.value for t in document.respondent_types], ["respondent_types"], "The respondent type")
    keys: dict[str, str] = {}

    def key_once(key: str, loc: list[str | int]) -> None:
        first = keys.setdefault(key, json_path(loc))
        if first != json_path(loc):
            fail([*loc, "key"], f"The key {key!r} is already used by {first}", "duplicate_key")

    document_types = set(document.respondent_types)
    for s, section in enumerate(document.sections):
        at: list[str | int] = ["sections", s]
        key_once(section.key, at)
        unique(section.lever_ids, [*at, "lever_ids"], "The lever")
        for i, item in enumerate(section.items):
            item_at: list[str | int] = [*at, "items", i]
            key_once(item.key, item_at)
            if item.lever_ids is not None:
                unique(item.lever_ids, [*item_at, "lever_ids"], "The lever")
                for n, lever_id in enumerate(item.lever_ids):
                    if lever_id not in section.lever_ids:
                        fail(
                            [*item_at, "lever_ids", n],
                            f"The lever {lever_id!r} is not one of its section's: "
                            + ", ".join(section.lever_ids),
                            "not_in_section",
                        )
            if item.respondent_types is not None:
                unique([t.value for t in item.respondent_types], [*item_at, "respondent_types"], "The type")
                for n, respondent in enumerate(item.respondent_types):
                    if respondent not in document_types:
                        fail(
                            [*item_at, "respondent_types", n],
                            f"The respondent type {respondent.value!r} is not one of the document's",
                            "not_in_document",
                        )
            if isinstance(item, ActionItem) and item.quantity is not None:
                if Decimal(item.quantity.lever_unit_factor) <= 0:
                    fail(
                        [*item_at, "quantity", "lever_unit_factor"], "The factor must be > 0", "greater_than"
                    )
                if item.quantity.maximum is not None and Decimal(item.quantity.maximum) <= 0:
                    fail([*item_at, "quantity", "maximum"], "The maximum must be > 0", "greater_than")
                levers = item.lever_ids if item.lever_ids is not None else section.lever_ids
                if len(levers) != 1:
                    fail(
                        [*item_at, "quantity"],
                        "A quantity converts to one lever's unit: give the item exactly one lever "
                        f"(it has {len(levers)})",
                        "quantity_one_lever",
                    )
            if (
                isinstance(item, NumberItem)
                and item.minimum is not None
                and item.maximum is not None
                and Decimal(item.minimum) > Decimal(item.maximum)
            ):
                fail(
                    [*item_at, "maximum"],
                    f"The maximum {item.maximum} is below the minimum {item.minimum}",
                    "bounds_inverted",
                )
            if isinstance(item, SingleChoiceItem | MultipleChoiceItem):
                unique([o.key for o in item.options], [*item_at, "options"], "The option key")
    return errors


def lever_references(document: QuestionnaireDocument) -> dict[str, list[list[str | int]]]:
    """Each lever id the document names, with every path that names it (document order)."""
    found: dict[str, list[list[str | int]]] = {}
    for s, section in enumerate(document.sections):
        for n, lever_id in enumerate(section.lever_ids):
            found.setdefault(lever_id, []).append(["sections", s, "lever_ids", n])
        for i, item in enumerate(section.items):
            for n, lever_id in enumerate(item.lever_ids or ()):
                found.setdefault(lever_id, []).append(["sections", s, "items", i, "lever_ids", n])
    return found


def quantity_items(document: QuestionnaireDocument) -> Iterator[tuple[list[str | int], str]]:
    """(path of the quantity, its lever) of every action item that asks for one."""
    for s, section in enumerate(document.sections):
        for i, item in enumerate(section.items):
            if isinstance(item, ActionItem) and item.quantity is not None:
                levers = item.lever_ids or section.lever_ids
                yield ["sections", s, "items", i, "quantity"], levers[0]


def to_json(document: QuestionnaireDocument) -> dict[str, Any]:
    """The canonical JSON of a document: every field, defaults written out (the export)."""
    return document.model_dump(mode="json")


def content_hash(document: QuestionnaireDocument) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces): equal documents, equal hashes."""
    canonical = json.dumps(to_json(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def item_count(document: QuestionnaireDocument) -> int:
    return sum(len(section.items) for section in document.sections)


SCHEMA_ID = "https://planeco.beta.gouv.fr/schemas/planeco-questionnaire-1.schema.json"


def document_json_schema() -> dict[str, Any]:
    """The published JSON Schema (2020-12) of the document, generated from the model."""
    schema = QuestionnaireDocument.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
        "description": "A planeco questionnaire (format planeco-questionnaire/1): sections of items under "
        "levers of the levers service. Rules beyond this schema: section and item keys unique in the "
        "document; an item's lever_ids within its section's, its respondent_types within the document's; "
        "a quantity on an item with exactly one lever; minimum ≤ maximum; every lever id exists.",
    }
