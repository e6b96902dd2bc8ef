"""Reading Aides-territoires records defensively (contract §3, §5, §8), into the columns of an aid.

- Ids may change form: `162936`, `"162936"` or `"162936-slug"` are the same aid.
- Labels contain " / " ("Mobilité / transports / Mobilité partagée": the theme itself has one): categories are
  kept whole, never split.
- HTML (descriptions, eligibility) is sanitised with nh3 (Ammonia): a small allow-list of tags, links kept
  with http(s)/mailto only and `rel="noopener noreferrer nofollow"`, scripts, styles, event handlers and
  inline styles gone; a plain-text version (block elements as line breaks, `&nbsp;` as a space) is kept for
  search.
- Keys may be missing or null, and new keys may appear: missing lists are empty, missing texts null, unknown
  keys ignored (the record as received is kept whole in `raw`).
- Dates come as `YYYY-MM-DD`; timestamps as ATOM (`2024-06-19T07:41:07+00:00`) or Gen 1's
  `2023-06-12T10:13:26.154813+02:00`; a timestamp without an offset is taken as UTC.
- NUL characters, which PostgreSQL cannot store, are removed from every string.
A record that still cannot be read (no id, no name, a date that is not one) raises `UnreadableRecord`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re
import unicodedata
from html.parser import HTMLParser
from typing import Annotated, Any

import nh3
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator

from planeco_actions.aids.vocabulary import audience_of

SITE = "https://aides-territoires.beta.gouv.fr"
ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "div", "dl", "dt", "em", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "li", "ol", "p", "pre", "span", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "u", "ul",
}  # fmt: skip
BLOCK_TAGS = {
    "p", "br", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table", "blockquote",
    "pre", "hr", "dt", "dd",
}  # fmt: skip
MAX_HTML = 200_000


class UnreadableRecord(ValueError):
    def __init__(self, message: str, aid_id: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.aid_id = aid_id


def without_nul(value: Any) -> Any:
    """The value with NUL characters removed from every string in it (JSON-like values)."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(v) for v in value]
    if isinstance(value, dict):
        return {str(k).replace("\x00", ""): without_nul(v) for k, v in value.items()}
    return value


def parse_id(value: Any) -> int | None:
    """`162936`, `"162936"`, `"162936-slug"` → 162936; anything else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str) and (match := re.match(r"^\s*(\d{1,12})(?:-|\s*$)", value)):
        return int(match.group(1)) or None
    return None


def _id(value: Any) -> int:
    parsed = parse_id(value)
    if parsed is None:
        raise ValueError("not an aid id (an integer, or '<integer>-<slug>')")
    return parsed


def _text(limit: int) -> Any:
    def read(value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError("not a text")
        text = str(value).strip()
        return text[:limit] or None

    return BeforeValidator(read)


def _labels(value: Any) -> list[str]:
    """A list of labels: null or missing is empty, a lone string a list of one, non-text items dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("not a list of labels")
    return [item.strip()[:500] for item in value if isinstance(item, str) and item.strip()]


def _flag(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "1", "on", "false", "0", "off", ""}:
        return value.lower() in {"true", "1", "on"}
    if isinstance(value, int):
        return value != 0
    raise ValueError("not a boolean")


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ValueError("not a date YYYY-MM-DD")


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    raise ValueError("not an ISO 8601 timestamp")


def _rate(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError("not a number")
    try:
        rate = round(float(value))
    except ValueError:
        raise ValueError("not a number") from None
    return rate if 0 <= rate <= 1000 else None


Labels = Annotated[list[str], BeforeValidator(_labels)]
Flag = Annotated[bool, BeforeValidator(_flag)]
Day = Annotated[dt.date | None, BeforeValidator(_date)]
Moment = Annotated[dt.datetime | None, BeforeValidator(_timestamp)]
Rate = Annotated[int | None, BeforeValidator(_rate)]


class UpstreamAid(BaseModel):
    """The fields of a record we keep; everything else stays in `raw` only."""

    model_config = ConfigDict(extra="ignore")

    id: Annotated[int, BeforeValidator(_id)]
    name: Annotated[str, _text(500)]
    slug: Annotated[str | None, _text(255)] = None
    url: Annotated[str | None, _text(700)] = None
    name_initial: Annotated[str | None, _text(500)] = None
    short_title: Annotated[str | None, _text(255)] = None
    financers: Labels = Field(default_factory=list)
    instructors: Labels = Field(default_factory=list)
    programs: Labels = Field(default_factory=list)
    categories: Labels = Field(default_factory=list)
    targeted_audiences: Labels = Field(default_factory=list)
    aid_types: Labels = Field(default_factory=list)
    mobilization_steps: Labels = Field(default_factory=list)
    destinations: Labels = Field(default_factory=list)
    description: Annotated[str | None, _text(MAX_HTML)] = None
    eligibility: Annotated[str | None, _text(MAX_HTML)] = None
    perimeter: Annotated[str | None, _text(255)] = None
    perimeter_scale: Annotated[str | None, _text(64)] = None
    origin_url: Annotated[str | None, _text(1000)] = None
    application_url: Annotated[str | None, _text(1000)] = None
    is_call_for_project: Flag = False
    is_charged: Flag = False
    start_date: Day = None
    predeposit_date: Day = None
    submission_deadline: Day = None
    subvention_rate_lower_bound: Rate = None
    subvention_rate_upper_bound: Rate = None
    recurrence: Annotated[str | None, _text(100)] = None
    european_aid: Annotated[str | None, _text(50)] = None
    date_created: Moment = None
    date_updated: Moment = None

    @field_validator("name")
    @classmethod
    def _named(cls, value: str | None) -> str:
        if not value:
            raise ValueError("an aid needs a name")
        return value


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def sanitize_html(value: str | None) -> str | None:
    if not value:
        return None
    cleaned = nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    ).strip()
    return cleaned or None


def html_to_text(value: str | None) -> str:
    """Plain text of (sanitised) HTML: one line per block, spaces collapsed, entities decoded."""
    if not value:
        return ""
    extractor = _TextExtractor()
    extractor.feed(value)
    extractor.close()
    text = html.unescape("".join(extractor.parts)).replace("\xa0", " ")
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def fold(text: str) -> str:
    """Lowercase without accents, apostrophes made plain: what the `q` search compares."""
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'").replace("œ", "oe").replace("Œ", "oe"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def content_hash(raw: Any) -> str:
    canonical = json.dumps(raw, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def parse_record(raw: Any) -> dict[str, Any]:
    """The aid's column values (see `AidColumns`), or UnreadableRecord saying why (and the id, if any)."""
    if not isinstance(raw, dict):
        raise UnreadableRecord("the record is not a JSON object", None)
    raw = without_nul(raw)
    try:
        aid = UpstreamAid.model_validate(raw)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'record'}: {e['msg']}" for e in error.errors()
        )
        raise UnreadableRecord(problems, parse_id(raw.get("id"))) from None
    description = sanitize_html(aid.description)
    description_text = html_to_text(description)
    audiences = sorted({a.value for label in aid.targeted_audiences if (a := audience_of(label))})
    searchable = [
        aid.name,
        aid.short_title or "",
        aid.name_initial or "",
        description_text,
        *aid.categories,
        *aid.financers,
        *aid.programs,
    ]
    url = aid.url
    if url and url.startswith("/"):
        url = f"{SITE}{url}"
    return {
        "id": aid.id,
        "slug": aid.slug or str(aid.id),
        "url": url,
        "name": aid.name,
        "name_initial": aid.name_initial,
        "short_title": aid.short_title,
        "financers": aid.financers,
        "instructors": aid.instructors,
        "programs": aid.programs,
        "categories": aid.categories,
        "targeted_audiences": aid.targeted_audiences,
        "audience_slugs": "|" + "|".join(audiences) + "|" if audiences else "",
        "aid_types": aid.aid_types,
        "mobilization_steps": aid.mobilization_steps,
        "destinations": aid.destinations,
        "description_html": description,
        "description_text": description_text,
        "eligibility_html": sanitize_html(aid.eligibility),
        "perimeter": aid.perimeter,
        "perimeter_scale": aid.perimeter_scale,
        "origin_url": aid.origin_url,
        "application_url": aid.application_url,
        "is_call_for_project": aid.is_call_for_project,
        "is_charged": aid.is_charged,
        "start_date": aid.start_date,
        "predeposit_date": aid.predeposit_date,
        "submission_deadline": aid.submission_deadline,
        "subvention_rate_lower_bound": aid.subvention_rate_lower_bound,
        "subvention_rate_upper_bound": aid.subvention_rate_upper_bound,
        "recurrence": aid.recurrence,
        "european_aid": aid.european_aid,
        "date_created": aid.date_created,
        "date_updated": aid.date_updated,
        "search_text": fold("\n".join(part for part in searchable if part)),
        "content_hash": content_hash(raw),
        "raw": raw,
    }
