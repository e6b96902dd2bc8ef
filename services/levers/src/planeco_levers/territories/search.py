"""Portable name search: a normalized copy of each name is stored and queried with LIKE.

`normalize("L'Île-d'Yeu") == "l ile d yeu"`: lower case, accents stripped (NFKD), œ/æ spelled out,
every other non-alphanumeric character (hyphen, apostrophe, space, dot…) becomes one space. The same
function runs on the query, so "orleans", "ORLÉANS" and "Orléans" find the same rows on SQLite and
PostgreSQL alike (no unaccent/ICU extension needed). A query matches a name when it starts one of the
name's words (`"etienne"` finds "Saint-Étienne").
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import ColumnElement, case, or_
from sqlalchemy.orm import InstrumentedAttribute

_LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss"})
_SEPARATORS = re.compile(r"[^0-9a-z]+")
# An INSEE code prefix ("452", "2A0") or SIREN prefix: digits, or Corsica's 2A/2B then digits.
_CODE_PREFIX = re.compile(r"^(\d+|2[AB]\d*)$", re.IGNORECASE)


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LIGATURES))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", stripped).strip()


def code_prefix(query: str) -> str | None:
    """The code prefix `query` stands for, or None when it is a name."""
    query = query.strip()
    return query.upper() if _CODE_PREFIX.match(query) else None


def name_matches(column: InstrumentedAttribute[str], normalized: str) -> ColumnElement[bool]:
    # The normalized text holds only [0-9a-z ], so it carries no LIKE wildcard to escape.
    return or_(column.like(f"{normalized}%"), column.like(f"% {normalized}%"))


def name_rank(column: InstrumentedAttribute[str], normalized: str) -> ColumnElement[int]:
    """0 for the exact name, 1 when the name starts with the query, 2 otherwise (best first)."""
    return case((column == normalized, 0), (column.like(f"{normalized}%"), 1), else_=2)
