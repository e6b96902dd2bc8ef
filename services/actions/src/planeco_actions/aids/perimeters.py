"""Aid perimeters → territories.

An aid record names its perimeter and that perimeter's scale, nothing else (contract §3, §6). After each
completed sync, every (name, scale) of a live aid not resolved yet is resolved once and kept
(`aid_perimeters`):
1. through Aides-territoires' `/api/perimeters/?scale=…&q=<name>`: the one perimeter of that scale whose
   name is the record's (case and accents aside) gives its `code` (INSEE code, SIREN for an EPCI);
2. through the levers service's territories (its typed client, with its ETag cache): where that territory
   lies (a commune's EPCI, département and région; an EPCI's départements and régions; a département's
   région), kept in `aid_perimeter_territories`.
What cannot be resolved is kept `unresolved` with the reason and reported by every sync run (counts
`perimeters_unresolved` and one error each): ad-hoc perimeters and basins (not territories of ours), names
that match no perimeter or several (two communes of the same name), codes the levers service does not know.
A failure of either service leaves the perimeter for the next sync (`perimeters_failed`).

"Available to" a territory T (`GET /aids?departement=45`): the aids whose perimeter contains T (national,
mainland or overseas as T lies, T's région, T's département…, T itself) cover all of T; the aids whose
perimeter lies inside T (an EPCI or a commune of the Loiret) cover part of it. `coverage=whole` keeps the
first kind only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.aids.client import AidesTerritoiresClient, AidesTerritoiresError
from planeco_actions.aids.models import AidPerimeter, AidPerimeterTerritory
from planeco_actions.aids.parsing import fold
from planeco_actions.aids.repository import AidRepository
from planeco_shared.clients.base import UpstreamNotFound
from planeco_shared.clients.levers import LeversClient
from planeco_shared.jobs import JobContext
from planeco_shared.models import utcnow
from planeco_shared.problems import AppError


class Level(StrEnum):
    national = "national"  # France, Europe: every territory
    mainland = "mainland"  # France métropolitaine: the régions of mainland France
    overseas = "overseas"  # the overseas régions
    region = "region"
    departement = "departement"
    epci = "epci"
    commune = "commune"


RESOLVED, UNRESOLVED = "resolved", "unresolved"
# The records' `perimeter_scale` label (case aside) → the `scale` slug of /api/perimeters/ and our level;
# None: a perimeter that is no territory of ours.
SCALES: dict[str, tuple[str, Level] | None] = {
    "commune": ("commune", Level.commune),
    "epci": ("epci", Level.epci),
    "département": ("department", Level.departement),
    "région": ("region", Level.region),
    "pays": ("country", Level.national),
    "continent": ("continent", Level.national),
    "métropole": ("mainland", Level.mainland),
    "outre-mer": ("overseas", Level.overseas),
    "ad-hoc": None,
    "bassin hydrographique": None,
}
# /api/perimeters/ `scale` labels → the same slugs.
PERIMETER_SCALES = {
    "commune": "commune",
    "epci": "epci",
    "département": "department",
    "région": "region",
    "pays": "country",
    "continent": "continent",
    "métropole": "mainland",
    "outre-mer": "overseas",
}


def zone_of(region: str) -> Level:
    """INSEE région codes: 01 to 06 overseas, 11 and above mainland France."""
    return Level.overseas if region < "10" else Level.mainland


@dataclass(slots=True)
class Resolution:
    status: str
    level: Level | None = None
    code: str | None = None
    upstream_id: int | None = None
    message: str | None = None
    territories: list[tuple[str, str]] = field(default_factory=list)


class ResolutionFailed(Exception):
    """Aides-territoires or the levers service failed: nothing is kept, the next sync tries again."""


async def resolve_perimeters(
    context: JobContext, client: AidesTerritoiresClient, levers: LeversClient
) -> dict[str, int]:
    """Resolve the live aids' perimeters not resolved yet; report the unresolved ones. Returns counts."""
    async with context.transaction() as session:
        pending = await AidRepository(session).unknown_perimeters()
    resolved = failed = 0
    for position, (name, scale) in enumerate(pending):
        try:
            resolution = await resolve(name, scale, client, levers)
        except ResolutionFailed as error:  # the rest would fail too: all left for the next sync
            failed = len(pending) - position
            context.error(
                f"{error}; {failed} perimeter(s) left for the next sync",
                item=f"perimeter {name} ({scale})",
                type="perimeter-failed",
            )
            break
        async with context.transaction() as session:
            await _keep(session, name, scale, resolution)
        resolved += resolution.status == RESOLVED
    async with context.transaction() as session:
        unresolved = await AidRepository(session).unresolved_perimeters()
    for perimeter, aids in unresolved:
        context.error(
            f"{perimeter.message} ({aids} live aid{'s' if aids > 1 else ''})",
            item=f"perimeter {perimeter.name} ({perimeter.scale})",
            type="unresolved-perimeter",
        )
    return {
        "perimeters_resolved": resolved,
        "perimeters_unresolved": len(unresolved),
        "perimeters_failed": failed,
    }


async def resolve(name: str, scale: str, client: AidesTerritoiresClient, levers: LeversClient) -> Resolution:
    label = scale.strip().casefold()
    if label not in SCALES:
        return Resolution(UNRESOLVED, message=f"unknown perimeter scale {scale!r}")
    known = SCALES[label]
    if known is None:
        return Resolution(UNRESOLVED, message=f"a perimeter of scale {scale!r} is not a territory")
    slug, level = known
    try:
        found = await client.perimeters([("scale", slug), ("q", name)])
    except AidesTerritoiresError as error:
        raise ResolutionFailed(f"Aides-territoires: {error}") from error
    wanted = fold(name).strip()
    matches = {
        (str(p.get("code") or ""), _upstream_id(p.get("id")))
        for p in found
        if fold(str(p.get("name") or "")).strip() == wanted
        and PERIMETER_SCALES.get(str(p.get("scale") or "").casefold()) == slug
    }
    codes = sorted({code for code, _ in matches if code})
    if not codes:
        return Resolution(UNRESOLVED, level, message=f"no perimeter of scale {slug} named {name!r}")
    if len(codes) > 1:
        return Resolution(
            UNRESOLVED,
            level,
            message=f"{len(codes)} perimeters of scale {slug} named {name!r} (codes {', '.join(codes[:5])})",
        )
    code = codes[0]
    upstream_id = next(i for c, i in matches if c == code)
    try:
        territories = await _territories(level, code, levers)
    except UpstreamNotFound:
        return Resolution(
            UNRESOLVED,
            level,
            code,
            upstream_id,
            f"{level.value} {code} is not a territory of the levers service",
        )
    except AppError as error:
        raise ResolutionFailed(f"levers service: {error.detail}") from error
    return Resolution(RESOLVED, level, code, upstream_id, territories=territories)


async def _territories(level: Level, code: str, levers: LeversClient) -> list[tuple[str, str]]:
    """The territories the perimeter is and lies in, as (level, code)."""
    if level is Level.region:
        region = await levers.get_region(code)
        return [(Level.region, region.code)]
    if level is Level.departement:
        departement = await levers.get_departement(code)
        return [(Level.departement, departement.code), (Level.region, departement.region)]
    if level is Level.epci:
        epci = await levers.get_epci(code)
        return [
            (Level.epci, epci.siren),
            *((Level.departement, d) for d in epci.departements),
            *((Level.region, r) for r in epci.regions),
        ]
    if level is Level.commune:
        commune = await levers.get_commune(code)
        rows = [(Level.commune, commune.code)]
        if commune.epci:
            rows.append((Level.epci, commune.epci))
        return [*rows, (Level.departement, commune.departement), (Level.region, commune.region)]
    return []  # national, mainland, overseas: by level


def _upstream_id(value: object) -> int | None:
    """`/api/perimeters/` ids: `70973`, or `"70973-auvergne-rhone-alpes"`."""
    text = str(value or "").split("-")[0]
    return int(text) if text.isdigit() else None


async def _keep(session: AsyncSession, name: str, scale: str, resolution: Resolution) -> None:
    perimeter = AidPerimeter(
        name=name,
        scale=scale,
        status=resolution.status,
        level=resolution.level.value if resolution.level else None,
        code=resolution.code,
        upstream_id=resolution.upstream_id,
        message=resolution.message,
        resolved_at=utcnow(),
    )
    session.add(perimeter)
    await session.flush()
    for level, code in dict.fromkeys(resolution.territories):
        session.add(AidPerimeterTerritory(perimeter_id=perimeter.id, level=str(level), code=code))
    await session.flush()


# A territory as the list filters name it, and what covers it.


@dataclass(frozen=True, slots=True)
class TerritoryScope:
    """What `GET /aids?…` asks about: the territory, the perimeters that contain it whole, its zone."""

    level: Level
    code: str
    containers: Sequence[tuple[str, str]]  # (level, code) of perimeters that contain all of it
    overlaps: Sequence[tuple[str, str]]  # perimeters that contain part of it (an EPCI across two)
    zone: Level


async def territory_scope(level: Level, code: str, levers: LeversClient) -> TerritoryScope:
    """Raises UpstreamNotFound for a code the levers service does not know."""
    if level is Level.region:
        region = await levers.get_region(code)
        return TerritoryScope(level, region.code, [], [], zone_of(region.code))
    if level is Level.departement:
        departement = await levers.get_departement(code)
        containers = [(Level.region.value, departement.region)]
        return TerritoryScope(level, departement.code, containers, [], zone_of(departement.region))
    if level is Level.epci:
        epci = await levers.get_epci(code)
        above = [(Level.departement.value, d) for d in epci.departements]
        above += [(Level.region.value, r) for r in epci.regions]
        whole = [
            pair
            for pair in above
            if (pair[0] == Level.departement and len(epci.departements) == 1)
            or (pair[0] == Level.region and len(epci.regions) == 1)
        ]
        overlaps = [pair for pair in above if pair not in whole]
        return TerritoryScope(level, epci.siren, whole, overlaps, zone_of(epci.region))
    commune = await levers.get_commune(code)
    containers = [(Level.departement.value, commune.departement), (Level.region.value, commune.region)]
    if commune.epci:
        containers.insert(0, (Level.epci.value, commune.epci))
    return TerritoryScope(level, commune.code, containers, [], zone_of(commune.region))
