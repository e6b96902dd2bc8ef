"""Idempotent import of the INSEE COG 2026 shipped in services/levers/data/cog-2026/.

Rows are upserted by their official code, so running it twice changes nothing.
Overseas collectivities (zone "com") are not régions/départements of a COP and are left out.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planeco_shared.upsert import upsert
from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.territories.models import Departement, Region

COG_DIR = Path(__file__).resolve().parents[3] / "data" / "cog-2026"
COP_ZONES = frozenset({"metro", "drom"})


@dataclass(frozen=True)
class ImportReport:
    regions: int
    departements: int


def read_cog_file(name: str, directory: Path = COG_DIR) -> list[dict[str, Any]]:
    with gzip.open(directory / f"{name}.json.gz", "rt", encoding="utf-8") as handle:
        data: list[dict[str, Any]] = json.load(handle)
    return data


async def import_territories(session: AsyncSession, directory: Path = COG_DIR) -> ImportReport:
    communes = [c for c in read_cog_file("communes", directory) if c.get("type") == "commune-actuelle"]
    population_by_departement: Counter[str] = Counter()
    population_by_region: Counter[str] = Counter()
    for commune in communes:
        population_by_departement[commune["departement"]] += int(commune.get("population") or 0)
        population_by_region[commune["region"]] += int(commune.get("population") or 0)

    regions = [
        {
            "code": r["code"],
            "name": r["nom"],
            "chef_lieu": r["chefLieu"],
            "zone": r["zone"],
            "population": population_by_region[r["code"]],
        }
        for r in read_cog_file("regions", directory)
        if r["zone"] in COP_ZONES
    ]
    departements = [
        {
            "code": d["code"],
            "name": d["nom"],
            "region_code": d["region"],
            "chef_lieu": d["chefLieu"],
            "zone": d["zone"],
            "population": population_by_departement[d["code"]],
        }
        for d in read_cog_file("departements", directory)
        if d["zone"] in COP_ZONES
    ]
    await upsert(session, Region, regions, key=["code"])
    await upsert(session, Departement, departements, key=["code"])
    return ImportReport(regions=len(regions), departements=len(departements))
