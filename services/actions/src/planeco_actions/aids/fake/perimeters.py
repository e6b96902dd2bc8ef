"""The fake Aides-territoires' perimeters: the real territories of the repository's COG 2026 (régions,
départements, EPCI à fiscalité propre, communes actuelles of `services/levers/data/cog-2026/`, Licence
Ouverte), with the real names and codes `/api/perimeters/` answers (INSEE codes, SIREN for EPCI), plus
Europe, France, its mainland and overseas, and two ad-hoc perimeters of the real records.

Ids: the real ones where public sources give them (France 70956, Auvergne-Rhône-Alpes 70973,
Clermont-Ferrand 95861) and those the generated catalogue has always used; every other id is assigned in
code order from 200001 (stable for the same COG files). Each perimeter knows the perimeters that contain it
(its `parents`), for the `perimeter_id` search semantics.
"""

from __future__ import annotations

import gzip
import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

COG = Path(__file__).resolve().parents[5] / "levers" / "data" / "cog-2026"
FIRST_GENERATED_ID = 200_001

# (scale, code) → id: known and historical ids of the fake.
KNOWN_IDS: dict[tuple[str, str], int] = {
    ("Continent", "EU"): 70955,
    ("Pays", "FRA"): 70956,
    ("Métropole", "FRA-MET"): 70957,
    ("Outre-mer", "FRA-OM"): 70958,
    ("Région", "24"): 70970,
    ("Région", "84"): 70973,
    ("Région", "76"): 70976,
    ("Département", "45"): 71045,
    ("Département", "18"): 71018,
    ("Département", "41"): 71041,
    ("Département", "63"): 71063,
    ("Département", "34"): 71034,
    ("EPCI", "244500468"): 106520,
    ("Commune", "45234"): 92504,
    ("Commune", "63113"): 95861,
}
# The perimeter's `scale` label at /api/perimeters/ → the aid record's `perimeter_scale` label.
AID_SCALE = {"Commune": "commune", "EPCI": "epci"}


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@dataclass(frozen=True, slots=True)
class Perimeter:
    """A perimeter as `/api/perimeters/` describes it, with the perimeters that contain it."""

    id: int
    name: str
    scale: str  # the `/api/perimeters/` label (`Commune`, `EPCI`, `Département`…)
    code: str
    parents: tuple[int, ...] = ()
    zipcodes: tuple[str, ...] = ()

    @property
    def aid_scale(self) -> str:
        """The aid record's `perimeter_scale` label (lowercase `commune`, `epci`)."""
        return AID_SCALE.get(self.scale, self.scale)

    @property
    def slug_id(self) -> str:
        return f"{self.id}-{slugify(self.name)}"

    def record(self) -> dict[str, Any]:
        if self.scale == "Commune":
            text = f"{self.name} (Commune - {', '.join(self.zipcodes)})"
        else:
            text = f"{self.name} ({self.aid_scale})"
        return {
            "id": self.slug_id,
            "text": text,
            "name": self.name,
            "scale": self.scale,
            "zipcodes": list(self.zipcodes),
            "code": self.code,
        }


def _read(name: str) -> list[dict[str, Any]]:
    with gzip.open(COG / f"{name}.json.gz", "rt", encoding="utf-8") as file:
        rows: list[dict[str, Any]] = json.load(file)
    return rows


class _Ids:
    def __init__(self) -> None:
        self.taken = set(KNOWN_IDS.values())
        self.next = FIRST_GENERATED_ID

    def of(self, scale: str, code: str) -> int:
        if (known := KNOWN_IDS.get((scale, code))) is not None:
            return known
        while self.next in self.taken:
            self.next += 1
        self.taken.add(self.next)
        return self.next


@cache
def all_perimeters() -> tuple[Perimeter, ...]:
    """Every perimeter, in a stable order: the wide ones, régions, départements, EPCI, communes, ad-hoc."""
    ids = _Ids()
    europe = Perimeter(ids.of("Continent", "EU"), "Europe", "Continent", "EU")
    france = Perimeter(ids.of("Pays", "FRA"), "France", "Pays", "FRA", (europe.id,))
    mainland = Perimeter(
        ids.of("Métropole", "FRA-MET"),
        "France métropolitaine",
        "Métropole",
        "FRA-MET",
        (france.id, europe.id),
    )
    overseas = Perimeter(
        ids.of("Outre-mer", "FRA-OM"), "Outre-mer", "Outre-mer", "FRA-OM", (france.id, europe.id)
    )
    wide = {"metro": mainland, "drom": overseas}
    perimeters = [europe, france, mainland, overseas]
    regions: dict[str, Perimeter] = {}
    for row in sorted(_read("regions"), key=lambda r: r["code"]):
        if (zone := wide.get(row["zone"])) is None:
            continue  # collectivités d'outre-mer: outside the COP
        region = Perimeter(
            ids.of("Région", row["code"]), row["nom"], "Région", row["code"], (zone.id, *zone.parents)
        )
        regions[row["code"]] = region
        perimeters.append(region)
    departements: dict[str, Perimeter] = {}
    for row in sorted(_read("departements"), key=lambda r: r["code"]):
        if (within := regions.get(row["region"])) is None:
            continue
        departement = Perimeter(
            ids.of("Département", row["code"]),
            row["nom"],
            "Département",
            row["code"],
            (within.id, *within.parents),
        )
        departements[row["code"]] = departement
        perimeters.append(departement)
    communes = {
        row["code"]: row
        for row in _read("communes")
        if row["type"] == "commune-actuelle" and row.get("departement") in departements
    }
    epci_of: dict[str, Perimeter] = {}
    for row in sorted(_read("epci"), key=lambda r: r["code"]):
        members = [m["code"] for m in row["membres"] if m["code"] in communes]
        if not members:
            continue
        above: list[int] = []
        for code in members:  # the départements and régions it lies in (some EPCI straddle two)
            departement = departements[communes[code]["departement"]]
            above += [p for p in (departement.id, *departement.parents) if p not in above]
        epci = Perimeter(ids.of("EPCI", row["code"]), row["nom"], "EPCI", row["code"], tuple(above))
        perimeters.append(epci)
        for code in members:
            epci_of[code] = epci
    for code in sorted(communes):
        row = communes[code]
        departement = departements[row["departement"]]
        parents = (departement.id, *departement.parents)
        if (group := epci_of.get(code)) is not None:
            parents = (group.id, *parents)
        perimeters.append(
            Perimeter(
                ids.of("Commune", code),
                row["nom"],
                "Commune",
                code,
                parents,
                tuple(row.get("codesPostaux") or ()),
            )
        )
    loir_et_cher = departements["41"]
    perimeters += [
        Perimeter(
            123456,
            "PAYS DES CHÂTEAUX",
            "Ad-hoc",
            "gal-pays-des-chateaux",
            (loir_et_cher.id, *loir_et_cher.parents),
        ),
        Perimeter(123457, "Communes littorales", "Ad-hoc", "communes-littorales", (france.id, europe.id)),
    ]
    return tuple(perimeters)


@cache
def perimeters_by_id() -> dict[int, Perimeter]:
    return {p.id: p for p in all_perimeters()}


@cache
def folded_names() -> tuple[str, ...]:
    """Each perimeter's name, folded for `q` (same order as `all_perimeters()`)."""
    return tuple(slugify(p.name).replace("-", " ") for p in all_perimeters())


def by_scale_and_code(scale: str, code: str) -> Perimeter:
    return next(p for p in all_perimeters() if p.scale == scale and p.code == code)
