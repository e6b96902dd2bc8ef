"""Declination of a région's objectives to its départements, EPCI and CRTE, and the keys it uses.

Rules (also in the endpoint descriptions and services/levers/README.md):

- **Key.** For every lever and level the default key is the population (INSEE population municipale 2023,
  COG 2026, summed from the communes): of each département; of each EPCI attached to the région (all its
  member communes, even those lying in another région); of each CRTE of the région (the communes it covers,
  directly or through its member EPCI). A région may upload its own key per lever for départements or EPCI.
  A custom key that no longer lists exactly the région's current children (the COG changed) is not used:
  population applies and the key's `note` says so.
- **Children.** Départements of the région; EPCI attached to the région by the territories rule (the région
  holding most of the EPCI's population): an EPCI spanning two régions receives a share of the objective of
  the région it is attached to only, for its whole population; CRTE uploaded for the région.
- **Objective.** The panorama's; with `basis=adjusted`, the région's own objective (adjustments module) for
  the levers where it stated one, converted with the factors of the version it is anchored on.
- **ktCO2e.** The région's objective rounded to `precision` (halves away from zero) is apportioned by largest
  remainder (apportion.py): the children's figures add up exactly to it.
- **Physical units.** A child's exact figures are start_2019 × share and start_2019 × share + ktCO2e × share ×
  ratio, i.e. its share of the région's 2019 value and of its 2030 value max(0, start + ktCO2e × ratio)
  (the clamp at 0 commutes with a non-negative share). Both are apportioned at `precision` like the ktCO2e,
  so they add up exactly to the région's values rounded the same way. The key is a proxy for the 2019 values
  too: they are not measured per territory. Units that are intensities (per inhabitant, per car, per 100 km,
  per MWh) do not add up across territories: they are not declined (`physical_method = not_additive`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.adjustments.figures import derived_of
from planeco_levers.adjustments.models import RegionAdjustment
from planeco_levers.db import AuditEntry
from planeco_levers.declination.apportion import ApportionError, apportion, round_to_quantum
from planeco_levers.declination.key_csv import check_key_rows, read_key_csv
from planeco_levers.declination.models import DeclinationKey, DeclinationLevel
from planeco_levers.declination.repository import Child, DeclinationRepository, ObjectiveRow
from planeco_levers.declination.schemas import (
    ChildFigures,
    ChildTotal,
    CustomKeyRead,
    DeclinationKeysRead,
    DeclinationRead,
    KeyKind,
    KeyRead,
    KeyValueRead,
    LeverDeclination,
    LeverKeys,
    ObjectiveBasis,
    PhysicalMethod,
    Precision,
    RegionFigures,
    UploadLevel,
)
from planeco_levers.levers.conversion import Factors, is_intensive_unit, physical_2030
from planeco_levers.territories.models import Region
from planeco_shared.audit import record
from planeco_shared.concurrency import etag
from planeco_shared.identity import Principal
from planeco_shared.models import utcnow
from planeco_shared.problems import Conflict, NotFound

ZERO = Decimal(0)
SHARE_QUANTUM = Decimal("0.000001")
ROUNDING = (
    "largest remainder (Hamilton) at `precision`: the région's figure is rounded to `precision`, halves away "
    "from zero (ROUND_HALF_UP), and the children's figures add up to it exactly; ties between remainders go "
    "to the larger weight, then to the lower code"
)


POPULATION = "population"
POPULATION_SOURCES = {
    DeclinationLevel.departement: "INSEE, population municipale 2023 (COG 2026) of the département's "
    "communes",
    DeclinationLevel.epci: "INSEE, population municipale 2023 (COG 2026) of the EPCI's member communes "
    "(all of them, also those in another région)",
    DeclinationLevel.crte: "INSEE, population municipale 2023 (COG 2026) of the communes the CRTE covers "
    "(member communes and communes of member EPCI)",
}
LEVEL_LABELS = {
    DeclinationLevel.departement: "département",
    DeclinationLevel.epci: "EPCI",
    DeclinationLevel.crte: "CRTE",
}

# Why population is (or is not) a fair default, by sector; a région with better data uploads its own key.
POPULATION_NOTES = {
    "transport-voyageurs": "Passenger travel follows where people live: population is a fair proxy.",
    "transport": "Passenger travel follows where people live: population is a fair proxy.",
    "residentiel": "Homes follow population: a fair proxy (a key of main residences would be closer).",
    "tertiaire": "Tertiary floor space follows population and jobs: a fair proxy (jobs would be closer).",
    "batiment": "Buildings follow population: a fair proxy.",
    "dechets": "Household waste is produced per inhabitant: population is the natural key.",
    "transport-marchandises": "Freight follows logistics hubs and roads more than residents: a weak proxy "
    "(road freight tonne-km or logistics floor space would be closer).",
    "industrie": "Industrial emissions are concentrated on a few sites: population is a weak proxy (the "
    "sites' declared emissions would be closer).",
    "energie": "Energy production depends on resources and sites: population is a weak proxy.",
    "agriculture-forets-sols": "Farming, hedges, grassland and forests follow land, not residents: "
    "population is a weak proxy (utilised agricultural area, grassland or forest area would be closer).",
}
GENERIC_NOTE = "No sector-specific rationale: population is the default key."


def one_line(label: str | None) -> str | None:
    return " ".join(label.split()) if label is not None else None


def physical_method(has_physical_unit: bool, unit: str | None) -> PhysicalMethod:
    if not has_physical_unit:
        return PhysicalMethod.none
    if is_intensive_unit(unit):  # an intensity does not add up across territories
        return PhysicalMethod.not_additive
    return PhysicalMethod.apportioned


def key_etag(key: DeclinationKey) -> str:
    """ASCII even for lever ids such as "augm_vélotc"."""
    return etag(f"{key.region_code}-{key.level}-{quote(key.lever_id, safe='')}", key.version)


def _region_fields(region: Region) -> dict[str, str]:
    return {"region": region.code, "region_name": region.name}


def _default_key(level: DeclinationLevel, sector: str, note: str | None = None) -> KeyRead:
    return KeyRead(
        level=level,
        kind=KeyKind.default,
        name=POPULATION,
        source=POPULATION_SOURCES[level],
        uploaded_at=None,
        etag=None,
        note=note or POPULATION_NOTES.get(sector, GENERIC_NOTE),
    )


def _custom_key(key: DeclinationKey) -> KeyRead:
    return KeyRead(
        level=DeclinationLevel(key.level),
        kind=KeyKind.custom,
        name=key.name,
        source=key.source,
        uploaded_at=key.uploaded_at,
        etag=key_etag(key),
        note=None,
    )


def _stale_note(key: DeclinationKey, level: DeclinationLevel) -> str:
    return (
        f"The custom key {key.name!r} uploaded on {key.uploaded_at:%Y-%m-%d} no longer "
        f"lists exactly the région's {LEVEL_LABELS[level]} (the territories changed): population is used "
        "until it is uploaded again or deleted."
    )


@dataclass(frozen=True)
class Weights:
    """A key's weights by child code, with its apportioned shares (computed once per key)."""

    key: KeyRead
    values: dict[str, Decimal]
    shares: dict[str, Decimal]


def _weights(key: KeyRead, values: dict[str, Decimal]) -> Weights:
    try:
        shares = apportion(Decimal(1), values, SHARE_QUANTUM)
    except ApportionError as exc:
        raise Conflict(
            f"The {key.name} key gives every {LEVEL_LABELS[key.level]} of the région a weight of 0: "
            "nothing can be declined",
            code="declination-key-all-zero",
        ) from exc
    return Weights(key, values, shares)


# reads


async def _require(repository: DeclinationRepository, version: str, region_code: str) -> Region:
    if await repository.get_version(version) is None:
        raise NotFound(f"No panorama version {version!r}; GET /api/v1/panoramas lists them")
    region = await repository.get_region(region_code)
    if region is None:
        raise NotFound(f"No région with INSEE code {region_code!r}")
    return region


async def _objectives(
    repository: DeclinationRepository, version: str, region: Region, lever_ids: Sequence[str] | None
) -> list[ObjectiveRow]:
    rows = list(await repository.objectives(version, region.code))
    if not rows:
        raise NotFound(f"Panorama {version} has no objective for région {region.code} {region.name}")
    if lever_ids:
        known = {row.lever_id for row in rows}
        unknown = sorted(set(lever_ids) - known)
        if unknown:
            raise NotFound(
                f"No lever {', '.join(unknown)} for région {region.code} in panorama {version}; "
                f"GET /api/v1/panoramas/{version}/regions/{region.code} lists them"
            )
        rows = [row for row in rows if row.lever_id in set(lever_ids)]
    return rows


async def _children(
    repository: DeclinationRepository, region: Region, level: DeclinationLevel
) -> list[Child]:
    children = await repository.children(region.code, level)
    if not children:
        if level is DeclinationLevel.crte:
            raise Conflict(
                f"No CRTE has been uploaded for région {region.code} {region.name}: a coordinator uploads "
                "them with POST /api/v1/territories/crtes/imports",
                code="no-crte",
            )
        raise Conflict(f"Région {region.code} has no {LEVEL_LABELS[level]}", code="no-children")
    return children


async def declination(
    session: AsyncSession,
    version: str,
    region_code: str,
    level: DeclinationLevel,
    *,
    precision: Precision = Precision.tenth,
    lever_ids: Sequence[str] | None = None,
    basis: ObjectiveBasis = ObjectiveBasis.official,
) -> DeclinationRead:
    """Every lever's objective of the région declined to its children (5 to 7 queries in all)."""
    repository = DeclinationRepository(session)
    region = await _require(repository, version, region_code)
    rows = await _objectives(repository, version, region, lever_ids)
    children = await _children(repository, region, level)
    names = {code: name for code, name, _ in children}
    codes = set(names)
    custom: dict[str, DeclinationKey] = {}
    custom_values: dict[str, dict[str, Decimal]] = {}
    if level is not DeclinationLevel.crte:
        custom = {key.lever_id: key for key in await repository.keys(region.code, level)}
        if custom:
            custom_values = await repository.key_values(region.code, level)
    adjustments = await repository.active_adjustments(region.code) if basis is ObjectiveBasis.adjusted else {}
    population = {code: Decimal(population) for code, _, population in children}
    quantum = Decimal(precision.value)

    default_weights: dict[str, Weights] = {}  # by sector (only the note differs)
    levers: list[LeverDeclination] = []
    totals = dict.fromkeys(names, ZERO)
    for row in rows:
        key = custom.get(row.lever_id)
        values = custom_values.get(row.lever_id, {})
        if key is not None and set(values) == codes:
            weights = _weights(_custom_key(key), values)
        elif key is not None:
            weights = _weights(_default_key(level, row.sector_id, _stale_note(key, level)), population)
        else:
            if row.sector_id not in default_weights:
                default_weights[row.sector_id] = _weights(_default_key(level, row.sector_id), population)
            weights = default_weights[row.sector_id]
        lever = _decline(row, weights, names, quantum, adjustments.get(row.lever_id))
        for child in lever.children:
            totals[child.code] += child.objective_ktco2e
        levers.append(lever)

    total = sum((lever.region.objective_ktco2e for lever in levers), ZERO)
    return DeclinationRead(
        version=version,
        **_region_fields(region),
        level=level,
        basis=basis,
        precision=quantum,
        rounding=ROUNDING,
        lever_count=len(levers),
        total_ktco2e=total,
        total_ktco2e_rounded=sum((lever.region.objective_ktco2e_rounded for lever in levers), ZERO),
        totals=[
            ChildTotal(code=code, name=name, objective_ktco2e=totals[code]) for code, name in names.items()
        ],
        levers=levers,
    )


def _decline(
    row: ObjectiveRow,
    weights: Weights,
    names: dict[str, str],
    quantum: Decimal,
    adjustment: RegionAdjustment | None,
) -> LeverDeclination:
    """One lever: the région's figures (official, or its own adjusted objective) and the children's parts."""
    if adjustment is None:
        objective = Decimal(row.objective_ktco2e)
        ratio, start = Decimal(row.ratio), Decimal(row.start_2019)
        has_unit, unit = bool(row.has_physical_unit), one_line(row.unit_physical)
        physical = physical_2030(objective, Factors(ratio=ratio, start_2019=start, has_physical_unit=True))
        clamped = start + objective * ratio < 0
    else:  # converted with the factors of the version it is anchored on, as the adjustments module does
        derived = derived_of(adjustment)
        objective = derived.objective_ktco2e
        ratio, start = adjustment.ratio, adjustment.start_2019
        has_unit, unit = adjustment.has_physical_unit, one_line(adjustment.unit_physical)
        physical = derived.physical_2030 if derived.physical_2030 is not None else ZERO
        clamped = derived.clamped
    method = physical_method(has_unit, unit)
    objective_parts = apportion(objective, weights.values, quantum)
    start_parts: dict[str, Decimal] = {}
    physical_parts: dict[str, Decimal] = {}
    with_unit = method is not PhysicalMethod.none
    region = RegionFigures(
        basis=ObjectiveBasis.official if adjustment is None else ObjectiveBasis.adjusted,
        anchored_version=None if adjustment is None else adjustment.anchored_version,
        objective_ktco2e=objective,
        objective_ktco2e_rounded=round_to_quantum(objective, quantum),
        ratio=ratio if with_unit else None,
        start_2019=start if with_unit else None,
        start_2019_rounded=round_to_quantum(start, quantum) if with_unit else None,
        physical_2030=physical if with_unit else None,
        physical_2030_rounded=round_to_quantum(physical, quantum) if with_unit else None,
        clamped=with_unit and clamped,
    )
    if method is PhysicalMethod.apportioned:
        start_parts = apportion(start, weights.values, quantum)
        physical_parts = apportion(physical, weights.values, quantum)
    return LeverDeclination(
        lever_id=row.lever_id,
        name=row.name,
        sector=row.sector_id,
        sector_label=row.sector_label,
        unit=unit,
        physical_method=method,
        key=weights.key,
        region=region,
        children=[
            ChildFigures(
                code=code,
                name=name,
                weight=weights.values[code],
                share=weights.shares[code],
                objective_ktco2e=objective_parts[code],
                start_2019=start_parts.get(code),
                physical_2030=physical_parts.get(code),
            )
            for code, name in names.items()
        ],
    )


async def declination_keys(session: AsyncSession, version: str, region_code: str) -> DeclinationKeysRead:
    """The key each lever of the version uses in the région, at each level (4 queries)."""
    repository = DeclinationRepository(session)
    region = await _require(repository, version, region_code)
    rows = await _objectives(repository, version, region, None)
    custom = {(key.lever_id, DeclinationLevel(key.level)): key for key in await repository.keys(region.code)}
    stale: set[tuple[str, DeclinationLevel]] = set()
    if custom:
        for level in (DeclinationLevel.departement, DeclinationLevel.epci):
            codes = {code for code, _, _ in await repository.children(region.code, level)}
            for lever_id, values in (await repository.key_values(region.code, level)).items():
                if set(values) != codes:
                    stale.add((lever_id, level))
    levers = []
    for row in rows:
        keys = []
        for level in DeclinationLevel:
            key = custom.get((row.lever_id, level))
            if key is None:
                keys.append(_default_key(level, row.sector_id))
            elif (row.lever_id, level) in stale:
                keys.append(_default_key(level, row.sector_id, _stale_note(key, level)))
            else:
                keys.append(_custom_key(key))
        levers.append(
            LeverKeys(
                lever_id=row.lever_id,
                name=row.name,
                sector=row.sector_id,
                sector_label=row.sector_label,
                keys=keys,
            )
        )
    return DeclinationKeysRead(version=version, **_region_fields(region), levers=levers)


# custom keys


async def _require_lever(repository: DeclinationRepository, region: Region, lever_id: str) -> None:
    if await repository.lever_in_region(region.code, lever_id) is None:
        raise NotFound(f"No panorama has a lever {lever_id!r} for région {region.code} {region.name}")


async def find_custom_key(
    session: AsyncSession, region_code: str, lever_id: str, level: UploadLevel
) -> DeclinationKey | None:
    """The région's key for the lever and level (None: population applies); 404: unknown région, lever."""
    repository = DeclinationRepository(session)
    region = await repository.get_region(region_code)
    if region is None:
        raise NotFound(f"No région with INSEE code {region_code!r}")
    await _require_lever(repository, region, lever_id)
    return await repository.get_key(region_code, lever_id, DeclinationLevel(level.value))


async def custom_key_read(session: AsyncSession, key: DeclinationKey) -> CustomKeyRead:
    repository = DeclinationRepository(session)
    level = DeclinationLevel(key.level)
    region = await repository.get_region(key.region_code)
    assert region is not None
    names = {code: name for code, name, _ in await repository.children(key.region_code, level)}
    values = (await repository.key_values(key.region_code, level, key.lever_id)).get(key.lever_id, {})
    return CustomKeyRead(
        **_region_fields(region),
        lever_id=key.lever_id,
        level=UploadLevel(key.level),
        name=key.name,
        source=key.source,
        uploaded_at=key.uploaded_at,
        revision=key.version,
        values=[
            KeyValueRead(code=code, name=names.get(code, "(no longer a child of the région)"), value=value)
            for code, value in values.items()
        ],
    )


def _plain(values: dict[str, Decimal]) -> dict[str, str]:
    return {code: format(value.normalize(), "f") for code, value in sorted(values.items())}


async def put_custom_key(
    session: AsyncSession,
    *,
    region_code: str,
    lever_id: str,
    level: UploadLevel,
    content: bytes,
    name: str,
    source: str | None,
    principal: Principal,
    existing: DeclinationKey | None,
) -> tuple[DeclinationKey, bool]:
    """Create or replace the key from a CSV (validated whole first). Returns (key, created).

    The same CSV (and name, source) again changes nothing: no new version, no audit entry.
    """
    repository = DeclinationRepository(session)
    declination_level = DeclinationLevel(level.value)
    children = {code: child for code, child, _ in await repository.children(region_code, declination_level)}
    rows, errors = read_key_csv(content)
    foreign = await repository.territory_regions(
        declination_level, {row.code for row in rows if 0 < len(row.code) <= 9} - set(children)
    )
    values = check_key_rows(
        rows, errors, children=children, level_label=LEVEL_LABELS[declination_level], region_of=foreign
    )
    entity_id = f"{region_code}/{lever_id}/{level.value}"
    if existing is None:
        key = DeclinationKey(
            region_code=region_code,
            lever_id=lever_id,
            level=level.value,
            name=name,
            source=source,
            uploaded_by=principal.subject[:200],
            uploaded_at=utcnow(),
        )
        await repository.add_key(key)
        await repository.replace_values(region_code, lever_id, declination_level, values)
        record(
            session,
            AuditEntry,
            principal=principal,
            action="create",
            entity_type="declination_key",
            entity_id=entity_id,
            changes={"name": {"old": None, "new": name}, "source": {"old": None, "new": source}}
            | {"values": {"old": None, "new": _plain(values)}},
        )
        await session.flush()
        return key, True

    old = (await repository.key_values(region_code, declination_level, lever_id)).get(lever_id, {})
    changes: dict[str, Any] = {}
    if existing.name != name:
        changes["name"] = {"old": existing.name, "new": name}
    if existing.source != source:
        changes["source"] = {"old": existing.source, "new": source}
    old_plain, new_plain = _plain(old), _plain(values)
    changed_values = {
        code: {"old": old_plain.get(code), "new": new_plain.get(code)}
        for code in sorted(set(old_plain) | set(new_plain))
        if old_plain.get(code) != new_plain.get(code)
    }
    if changed_values:
        changes["values"] = changed_values
    if not changes:
        return existing, False
    changes["uploaded"] = {
        "old": {"by": existing.uploaded_by, "at": existing.uploaded_at.isoformat()},
        "new": {"by": principal.subject[:200]},
    }
    existing.name, existing.source = name, source
    existing.uploaded_by, existing.uploaded_at = principal.subject[:200], utcnow()
    # The key row first: its UPDATE … WHERE version = read version locks it, or fails (412) when a concurrent
    # writer got there first; only then are the values replaced.
    await session.flush()
    if changed_values:
        await repository.replace_values(region_code, lever_id, declination_level, values)
    record(
        session,
        AuditEntry,
        principal=principal,
        action="replace",
        entity_type="declination_key",
        entity_id=entity_id,
        changes=changes,
    )
    await session.flush()
    return existing, False


async def delete_custom_key(session: AsyncSession, key: DeclinationKey, *, principal: Principal) -> None:
    repository = DeclinationRepository(session)
    level = DeclinationLevel(key.level)
    old = (await repository.key_values(key.region_code, level, key.lever_id)).get(key.lever_id, {})
    record(
        session,
        AuditEntry,
        principal=principal,
        action="delete",
        entity_type="declination_key",
        entity_id=f"{key.region_code}/{key.lever_id}/{key.level}",
        changes={
            "name": {"old": key.name, "new": None},
            "source": {"old": key.source, "new": None},
            "values": {"old": _plain(old), "new": None},
            "version": {"old": key.version, "new": None},
        },
    )
    await repository.delete_key(key)
