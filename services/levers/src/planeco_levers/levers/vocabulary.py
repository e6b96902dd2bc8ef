"""Canonical sectors and thématiques (groups) of the levers, and how source labels map onto them.

The SGPE files spell some labels differently over time ("Déchet", "Agriculture, Forêts et Sols",
"Agriculture/Forêts/Sols"…). Each sector and group has one stable id (a slug, the key everywhere) and one
canonical French label. A source label matches by its key: accents dropped, lower case, every run of other
characters turned into "-" (the simulator's own `normalizeString`, so "Agriculture/Forêts et Sols" and
"Agriculture, Forêts et Sols" are one key). A label that matches nothing is kept as a new term (its key as
id, its own spelling as label) and the import says so in a warning.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


def normalize_key(label: str) -> str:
    """'Agriculture, Forêts et Sols' → 'agriculture-forets-et-sols'."""
    decomposed = unicodedata.normalize("NFKD", label.strip().lower())
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", "-", ascii_only).strip("-")


@dataclass(frozen=True, slots=True)
class Term:
    id: str
    label: str
    aliases: tuple[str, ...] = ()


# In the order the plan presents them. "Transport" and "Bâtiment" exist only in the overseas lever set.
SECTORS: tuple[Term, ...] = (
    Term("transport-voyageurs", "Transport de voyageurs"),
    Term("transport-marchandises", "Transport de marchandises"),
    Term("transport", "Transport"),
    Term("residentiel", "Résidentiel"),
    Term("tertiaire", "Tertiaire"),
    Term("batiment", "Bâtiment", aliases=("Bâtiments",)),
    Term("industrie", "Industrie"),
    Term("energie", "Énergie"),
    Term("dechets", "Déchets", aliases=("Déchet",)),
    Term(
        "agriculture-forets-sols",
        "Agriculture, forêts et sols",
        aliases=("Agriculture, Forêts et Sols", "Agriculture/Forêts/Sols", "Agriculture, forêts, sols"),
    ),
)

GROUPS: tuple[Term, ...] = (
    Term("mieux-se-deplacer", "Mieux se déplacer"),
    Term("mieux-se-loger", "Mieux se loger"),
    Term("mieux-se-nourrir", "Mieux se nourrir"),
    Term("mieux-produire", "Mieux produire"),
    Term("mieux-consommer", "Mieux consommer"),
    Term("mieux-preserver", "Mieux préserver"),
)


class Vocabulary:
    """Looks source labels up in a tuple of terms."""

    def __init__(self, terms: tuple[Term, ...]) -> None:
        self.terms = terms
        self.positions = {term.id: index for index, term in enumerate(terms)}
        self._by_key: dict[str, Term] = {}
        for term in terms:
            for spelling in (term.id, term.label, *term.aliases):
                self._by_key[normalize_key(spelling)] = term

    def match(self, label: str) -> Term | None:
        return self._by_key.get(normalize_key(label))

    def resolve(self, label: str) -> tuple[Term, bool]:
        """The term for a source label, and whether it is one of the known terms."""
        known = self.match(label)
        if known is not None:
            return known, True
        return Term(normalize_key(label)[:60], " ".join(label.split())), False

    def position(self, term_id: str) -> int:
        return self.positions.get(term_id, len(self.terms))


SECTOR_VOCABULARY = Vocabulary(SECTORS)
GROUP_VOCABULARY = Vocabulary(GROUPS)
