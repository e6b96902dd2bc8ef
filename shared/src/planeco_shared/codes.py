"""Official codes, written once: the patterns of INSEE (COG) and SIRENE identifiers and the annotated
types that validate them in bodies, paths and queries, so that the contract shows one pattern each."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import Field, StringConstraints

REGION_PATTERN = r"^\d{2}$"
DEPARTEMENT_PATTERN = r"^(\d{2}|2[AB]|97\d)$"
COMMUNE_PATTERN = r"^(\d{5}|2[AB]\d{3})$"
SIREN_PATTERN = r"^\d{9}$"
# A collectivité: an EPCI or a commune by SIREN, a commune by INSEE code, a département by its code (a
# contributor's territory, `GET /territories/collectivites/{identifier}`).
COLLECTIVITE_PATTERN = f"{SIREN_PATTERN}|{COMMUNE_PATTERN}|{DEPARTEMENT_PATTERN}"
# A coordinator's territory: a région (`24`, or `region:24`) or a département (`departement:45`).
COORDINATOR_TERRITORY_PATTERN = r"^(\d{2}|region:\d{2}|departement:(\d{2}|2[AB]|97\d))$"

# In bodies and query models (pydantic).
RegionCode = Annotated[
    str,
    StringConstraints(pattern=REGION_PATTERN),
    Field(description="INSEE code of a région", examples=["24"]),
]

# In paths and queries (FastAPI parameters).
RegionPath = Annotated[
    str, Path(pattern=REGION_PATTERN, description="INSEE code of a région", examples=["24"])
]
DepartementPath = Annotated[
    str, Path(pattern=DEPARTEMENT_PATTERN, description="INSEE code of a département", examples=["45"])
]
CommunePath = Annotated[
    str, Path(pattern=COMMUNE_PATTERN, description="INSEE code of a commune", examples=["45234"])
]
SirenPath = Annotated[
    str, Path(pattern=SIREN_PATTERN, description="SIREN (9 digits)", examples=["244500468"])
]
RegionFilter = Annotated[
    str | None, Query(pattern=REGION_PATTERN, description="Only this région's (INSEE code)", examples=["24"])
]
DepartementFilter = Annotated[
    str | None,
    Query(pattern=DEPARTEMENT_PATTERN, description="Only this département's (INSEE code)", examples=["45"]),
]
SirenFilter = Annotated[str | None, Query(pattern=SIREN_PATTERN, description="Only this EPCI's (SIREN)")]
