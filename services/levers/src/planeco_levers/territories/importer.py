"""Idempotent import of the INSEE COG 2026 shipped in services/levers/data/cog-2026/.

Rows are upserted by their official code and rows that vanished from the files are deleted, in the
caller's transaction: running it twice changes nothing, and a new COG vintage replaces the old one.
Overseas collectivities (zone "com") are not régions/départements of a COP and are left out.

Derived figures:
- populations (région, département, EPCI, EPT) are sums of the communes' population municipale
  (the figures stored in epci.json are an older DGCL count);
- an EPCI (or EPT) whose communes lie in several régions (26 EPCI do) is attached to one région and
  one département by the rule documented in territories.service (most population; ties → lowest code).
"""

from __future__ import annotations

import gzip
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

from planeco_levers.territories.models import (
    Commune,
    CrteMember,
    Departement,
    Epci,
    EpciNature,
    Ept,
    Region,
)
from planeco_levers.territories.search import normalize
from planeco_levers.territories.service import attach_group, refresh_crte
from planeco_shared.upsert import upsert

COG_DIR = Path(__file__).resolve().parents[3] / "data" / "cog-2026"
COP_ZONES = frozenset({"metro", "drom"})
# decoupage-administratif spells the métropoles "METRO"; the DGCL's nature juridique code is "ME".
NATURES = {"METRO": EpciNature.ME, "MET69": EpciNature.MET69, "CU": EpciNature.CU, "CA": EpciNature.CA}
NATURES |= {"CC": EpciNature.CC}
DELETE_BATCH = 1000  # codes per DELETE … IN (…): far below SQLite's bound-parameter limit


@dataclass(frozen=True)
class ImportReport:
    regions: int
    departements: int
    epcis: int
    epts: int
    communes: int
    population: int
    deleted: int  # rows of the previous import absent from these files
    crte_members_dropped: int  # CRTE memberships of vanished EPCI/communes


def read_cog_file(name: str, directory: Path = COG_DIR) -> list[dict[str, Any]]:
    with gzip.open(directory / f"{name}.json.gz", "rb") as handle:
        data: list[dict[str, Any]] = orjson.loads(handle.read())  # about 3x faster than json here
    return data


def _groups(
    raw: list[dict[str, Any]], communes: dict[str, dict[str, Any]], label: str
) -> dict[str, list[dict[str, Any]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for group in raw:
        members = []
        for member in group["membres"]:
            if member["code"] not in communes:
                raise ValueError(f"{label} {group['code']} lists unknown commune {member['code']}")
            members.append(communes[member["code"]])
        if not members:
            raise ValueError(f"{label} {group['code']} has no member commune")
        groups[group["code"]] = members
    return groups


async def import_territories(session: AsyncSession, directory: Path = COG_DIR) -> ImportReport:
    regions_raw = [r for r in read_cog_file("regions", directory) if r["zone"] in COP_ZONES]
    departements_raw = [d for d in read_cog_file("departements", directory) if d["zone"] in COP_ZONES]
    departement_codes = {d["code"] for d in departements_raw}
    communes = {
        c["code"]: {
            "code": c["code"],
            "name": c["nom"],
            "name_search": normalize(c["nom"]),
            "departement_code": c["departement"],
            "region_code": c["region"],
            "siren": c.get("siren"),
            "epci_siren": None,
            "ept_siren": None,
            "population": int(c.get("population") or 0),
            "postal_codes": sorted(c.get("codesPostaux") or []),
        }
        for c in read_cog_file("communes", directory)
        if c.get("type") == "commune-actuelle" and c["departement"] in departement_codes
    }
    epcis_raw = read_cog_file("epci", directory)
    epts_raw = read_cog_file("ept", directory)
    epci_members = _groups(epcis_raw, communes, "EPCI")
    ept_members = _groups(epts_raw, communes, "EPT")
    for siren, members in epci_members.items():
        for commune in members:
            if commune["epci_siren"] is not None:
                raise ValueError(f"commune {commune['code']} is in two EPCI")
            commune["epci_siren"] = siren
    for siren, members in ept_members.items():
        for commune in members:
            commune["ept_siren"] = siren

    population_by_departement: Counter[str] = Counter()
    population_by_region: Counter[str] = Counter()
    for commune in communes.values():
        population_by_departement[commune["departement_code"]] += commune["population"]
        population_by_region[commune["region_code"]] += commune["population"]

    regions = [
        {
            "code": r["code"],
            "name": r["nom"],
            "chef_lieu": r["chefLieu"],
            "zone": r["zone"],
            "population": population_by_region[r["code"]],
        }
        for r in regions_raw
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
        for d in departements_raw
    ]
    epcis = [
        _group(e, epci_members[e["code"]])
        | {
            "name_search": normalize(e["nom"]),
            "nature": NATURES[e["type"]].value,
            "financing_mode": e["modeFinancement"],
        }
        for e in epcis_raw
    ]
    epts = [_group(t, ept_members[t["code"]]) for t in epts_raw]

    # Parents before children; vanished rows go children first (after their memberships).
    await upsert(session, Region, regions, key=["code"])
    await upsert(session, Departement, departements, key=["code"])
    await upsert(session, Epci, epcis, key=["siren"])
    await upsert(session, Ept, epts, key=["siren"])
    await upsert(session, Commune, list(communes.values()), key=["code"])

    vanished_communes = await _vanished(session, Commune.code, communes.keys())
    vanished_epcis = await _vanished(session, Epci.siren, (e["siren"] for e in epcis))
    dropped = 0
    for batch in _batches(sorted(vanished_communes | vanished_epcis)):
        result = await session.execute(
            delete(CrteMember).where(
                or_(CrteMember.commune_code.in_(batch), CrteMember.epci_siren.in_(batch))
            )
        )
        dropped += int(result.rowcount)  # type: ignore[attr-defined]
    deleted = await _delete(session, Commune, Commune.code, vanished_communes)
    deleted += await _delete(
        session, Ept, Ept.siren, await _vanished(session, Ept.siren, (t["siren"] for t in epts))
    )
    deleted += await _delete(session, Epci, Epci.siren, vanished_epcis)
    deleted += await _delete(
        session,
        Departement,
        Departement.code,
        await _vanished(session, Departement.code, (d["code"] for d in departements)),
    )
    deleted += await _delete(
        session, Region, Region.code, await _vanished(session, Region.code, (r["code"] for r in regions))
    )

    # CRTE perimeters are expressed in EPCI/communes: their derived région and population follow.
    await refresh_crte(session)
    await session.flush()
    return ImportReport(
        regions=len(regions),
        departements=len(departements),
        epcis=len(epcis),
        epts=len(epts),
        communes=len(communes),
        population=sum(population_by_region.values()),
        deleted=deleted,
        crte_members_dropped=dropped,
    )


def _group(raw: dict[str, Any], members: list[dict[str, Any]]) -> dict[str, Any]:
    """The columns an EPCI and an EPT share: attachment and population follow from the members."""
    region, departement = attach_group(
        (c["region_code"], c["departement_code"], c["population"]) for c in members
    )
    return {
        "siren": raw["code"],
        "name": raw["nom"],
        "region_code": region,
        "departement_code": departement,
        "population": sum(c["population"] for c in members),
    }


async def _vanished(
    session: AsyncSession, column: InstrumentedAttribute[str], kept: Iterable[str]
) -> set[str]:
    present = set((await session.execute(select(column))).scalars())
    return present - set(kept)


def _batches(codes: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(codes), DELETE_BATCH):
        yield codes[start : start + DELETE_BATCH]


async def _delete(
    session: AsyncSession, model: type[DeclarativeBase], key: InstrumentedAttribute[str], codes: set[str]
) -> int:
    for batch in _batches(sorted(codes)):
        await session.execute(delete(model).where(key.in_(batch)))
    return len(codes)
