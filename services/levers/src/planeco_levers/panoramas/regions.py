"""Région names as the SGPE files write them → INSEE région codes (COG), explicitly. The official names
are the territories' (`territories.service.region_names`): this module knows only the files' spellings.

The files name régions, not codes, and not always officially: Provence-Alpes-Côte d'Azur is written
"Provence-Alpes-Côte d'Azur" (2023-11-14), "Région Sud" (2024-04-08) and "PACA" (2024-07-24).
Names match by `normalize_key` (accents, case, punctuation and apostrophe styles do not matter).
"Région exemple" is the simulator's demonstration région, not a territory: its rows are skipped.
Any other name is an error: a file naming an unknown région is refused.
"""

from __future__ import annotations

from planeco_levers.levers.vocabulary import normalize_key

OVERSEAS_REGIONS = frozenset({"01", "02", "03", "04", "06"})

# Every spelling met in the SGPE files (and the obvious official variants) → INSEE code.
REGION_CODES_BY_SOURCE_NAME: dict[str, str] = {
    "Auvergne-Rhône-Alpes": "84",
    "Bourgogne-Franche-Comté": "27",
    "Bretagne": "53",
    "Centre-Val de Loire": "24",
    "Corse": "94",
    "Collectivité de Corse": "94",
    "Grand Est": "44",
    "Hauts-de-France": "32",
    "Île-de-France": "11",
    "Normandie": "28",
    "Nouvelle-Aquitaine": "75",
    "Occitanie": "76",
    "Pays de la Loire": "52",
    "Provence-Alpes-Côte d'Azur": "93",
    "PACA": "93",
    "Région Sud": "93",
    "Guadeloupe": "01",
    "Martinique": "02",
    "Guyane": "03",
    "La Réunion": "04",
    "Réunion": "04",
    "Mayotte": "06",
}

DEMONSTRATION_REGION_NAMES = frozenset({normalize_key("Région exemple")})

_CODES_BY_KEY = {normalize_key(name): code for name, code in REGION_CODES_BY_SOURCE_NAME.items()}


def is_demonstration_region(source_name: str) -> bool:
    return normalize_key(source_name) in DEMONSTRATION_REGION_NAMES


def region_code_of(source_name: str) -> str | None:
    """INSEE code of a région as the files name it; None when the name is unknown."""
    return _CODES_BY_KEY.get(normalize_key(source_name))


def is_overseas(region_code: str) -> bool:
    return region_code in OVERSEAS_REGIONS
