"""Territory reads and rules: the official INSEE codes (and SIRENs) are the keys.

Attachment rule (EPCI, EPT, CRTE): a group of communes lying in several régions is attached to the
région holding most of its population, ties going to the lowest code; its département is chosen the
same way among its départements in that région, so that the two always agree.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.territories.models import Commune, Crte, Departement, Epci, EpciNature, Ept, Region
from planeco_levers.territories.repository import TerritoryRepository
from planeco_levers.territories.schemas import (
    CollectiviteLevel,
    CollectiviteRead,
    CommuneRead,
    CommuneSummary,
    CrteDetail,
    CrteMemberKind,
    CrteMemberRead,
    CrteRead,
    DepartementRead,
    EpciDetail,
    EpciRead,
    EptDetail,
    EptRead,
    RegionRead,
)
from planeco_levers.territories.search import code_prefix, normalize
from planeco_shared.codes import COMMUNE_PATTERN, SIREN_PATTERN
from planeco_shared.pagination import Page, PageParams, paginate
from planeco_shared.problems import FieldError, NotFound, UnprocessableEntity

T = TypeVar("T")

# (région, département, population) of one commune: what the attachment rule weighs.
Weighted = tuple[str, str, int]


def attach(population_by_code: Counter[str]) -> str:
    """The code holding most of the population; ties → the lowest code."""
    return min(population_by_code, key=lambda code: (-population_by_code[code], code))


def attach_group(communes: Iterable[Weighted]) -> tuple[str, str]:
    """(région, département) of a group of communes, by the attachment rule."""
    by_region: Counter[str] = Counter()
    by_departement: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for region, departement, population in communes:
        by_region[region] += population
        by_departement[region][departement] += population
    region = attach(by_region)
    return region, attach(by_departement[region])


def _page(items: list[T], total: int, params: PageParams) -> Page[T]:
    return Page.of(items, total, params)


def _check_query(q: str | None) -> None:
    """A name query must keep two letters or digits once normalized ("--" would match everything)."""
    if q is not None and code_prefix(q) is None and len(normalize(q)) < 2:
        raise UnprocessableEntity(
            "The search needs at least two letters or digits",
            errors=[FieldError(loc=["query", "q"], msg="At least two letters or digits", type="too_short")],
        )


# régions and départements


async def list_regions(session: AsyncSession, *, params: PageParams) -> Page[RegionRead]:
    repository = TerritoryRepository(session)
    rows, total = await paginate(session, repository.regions_statement(), params)
    return _page(await _regions(repository, rows), total, params)


async def region_names(session: AsyncSession) -> dict[str, str]:
    """The régions' official names by INSEE code, from the territories (the COG): the one source of them."""
    return await TerritoryRepository(session).region_names()


async def get_region(session: AsyncSession, code: str) -> RegionRead:
    repository = TerritoryRepository(session)
    region = await repository.get_region(code)
    if region is None:
        raise NotFound(f"No région with INSEE code {code!r}")
    return (await _regions(repository, [region]))[0]


async def _regions(repository: TerritoryRepository, regions: Sequence[Region]) -> list[RegionRead]:
    codes = [r.code for r in regions]
    counts = await repository.count_children(
        {"departements": Departement.region_code, "epcis": Epci.region_code, "communes": Commune.region_code},
        codes,
    )
    departements, epcis, communes = counts["departements"], counts["epcis"], counts["communes"]
    return [
        RegionRead(
            code=r.code,
            name=r.name,
            chef_lieu=r.chef_lieu,
            zone=r.zone,
            population=r.population,
            departement_count=departements.get(r.code, 0),
            epci_count=epcis.get(r.code, 0),
            commune_count=communes.get(r.code, 0),
        )
        for r in regions
    ]


async def list_departements(
    session: AsyncSession, *, region: str | None, params: PageParams
) -> Page[DepartementRead]:
    repository = TerritoryRepository(session)
    rows, total = await paginate(session, repository.departements_statement(region=region), params)
    return _page(await _departements(repository, rows), total, params)


async def get_departement(session: AsyncSession, code: str) -> DepartementRead:
    repository = TerritoryRepository(session)
    departement = await repository.get_departement(code)
    if departement is None:
        raise NotFound(f"No département with INSEE code {code!r}")
    return (await _departements(repository, [departement]))[0]


async def _departements(
    repository: TerritoryRepository, departements: Sequence[Departement]
) -> list[DepartementRead]:
    codes = [d.code for d in departements]
    counts = await repository.count_children(
        {"epcis": Epci.departement_code, "communes": Commune.departement_code}, codes
    )
    epcis, communes = counts["epcis"], counts["communes"]
    return [
        DepartementRead(
            code=d.code,
            name=d.name,
            region=d.region_code,
            chef_lieu=d.chef_lieu,
            zone=d.zone,
            population=d.population,
            epci_count=epcis.get(d.code, 0),
            commune_count=communes.get(d.code, 0),
        )
        for d in departements
    ]


# EPCI and EPT


async def list_epcis(
    session: AsyncSession,
    *,
    region: str | None,
    departement: str | None,
    nature: EpciNature | None,
    q: str | None,
    params: PageParams,
) -> Page[EpciRead]:
    _check_query(q)
    repository = TerritoryRepository(session)
    statement = repository.epcis_statement(region=region, departement=departement, nature=nature, q=q)
    rows, total = await paginate(session, statement, params)
    counts = await repository.count_by(Commune.epci_siren, [e.siren for e in rows])
    return _page([_epci(e, counts.get(e.siren, 0)) for e in rows], total, params)


async def get_epci(session: AsyncSession, siren: str) -> EpciDetail:
    repository = TerritoryRepository(session)
    epci = await repository.get_epci(siren)
    if epci is None:
        raise NotFound(f"No EPCI à fiscalité propre with SIREN {siren!r}")
    members = await repository.communes_of(Commune.epci_siren, siren)
    return EpciDetail(
        **_epci(epci, len(members)).model_dump(),
        regions=sorted({c.region_code for c in members}),
        departements=sorted({c.departement_code for c in members}),
        members=[CommuneSummary.model_validate(c) for c in members],
    )


def _epci(e: Epci, commune_count: int) -> EpciRead:
    return EpciRead(
        siren=e.siren,
        name=e.name,
        nature=EpciNature(e.nature),
        financing_mode=e.financing_mode,
        region=e.region_code,
        departement=e.departement_code,
        population=e.population,
        commune_count=commune_count,
    )


async def list_epts(session: AsyncSession, *, departement: str | None, params: PageParams) -> Page[EptRead]:
    repository = TerritoryRepository(session)
    rows, total = await paginate(session, repository.epts_statement(departement=departement), params)
    counts = await repository.count_by(Commune.ept_siren, [t.siren for t in rows])
    return _page([_ept(t, counts.get(t.siren, 0)) for t in rows], total, params)


async def get_ept(session: AsyncSession, siren: str) -> EptDetail:
    repository = TerritoryRepository(session)
    ept = await repository.get_ept(siren)
    if ept is None:
        raise NotFound(f"No EPT with SIREN {siren!r}")
    members = await repository.communes_of(Commune.ept_siren, siren)
    return EptDetail(
        **_ept(ept, len(members)).model_dump(),
        members=[CommuneSummary.model_validate(c) for c in members],
    )


def _ept(t: Ept, commune_count: int) -> EptRead:
    return EptRead(
        siren=t.siren,
        name=t.name,
        region=t.region_code,
        departement=t.departement_code,
        population=t.population,
        commune_count=commune_count,
    )


# communes


async def list_communes(
    session: AsyncSession,
    *,
    region: str | None,
    departement: str | None,
    epci: str | None,
    q: str | None,
    params: PageParams,
) -> Page[CommuneRead]:
    _check_query(q)
    statement = TerritoryRepository(session).communes_statement(
        region=region, departement=departement, epci=epci, q=q
    )
    rows, total = await paginate(session, statement, params)
    return _page([_commune(c) for c in rows], total, params)


async def get_commune(session: AsyncSession, code: str) -> CommuneRead:
    commune = await TerritoryRepository(session).get_commune(code)
    if commune is None:
        raise NotFound(f"No commune with INSEE code {code!r}")
    return _commune(commune)


def _commune(c: Commune) -> CommuneRead:
    return CommuneRead(
        code=c.code,
        name=c.name,
        departement=c.departement_code,
        region=c.region_code,
        epci=c.epci_siren,
        ept=c.ept_siren,
        siren=c.siren,
        population=c.population,
        postal_codes=list(c.postal_codes),
    )


# Collectivités (what a contributor's scope names)

SIREN_RE = re.compile(SIREN_PATTERN)
COMMUNE_RE = re.compile(COMMUNE_PATTERN)


async def get_collectivite(session: AsyncSession, identifier: str) -> CollectiviteRead:
    """A SIREN (an EPCI's, else a commune's), a commune's INSEE code or a département's code."""
    repository = TerritoryRepository(session)
    found: CollectiviteRead | None = None
    if SIREN_RE.match(identifier) and await repository.get_epci(identifier) is not None:
        epci = await get_epci(session, identifier)
        found = _collectivite(
            CollectiviteLevel.epci, epci.siren, epci.siren, epci.name, epci.regions, epci.departements
        )
    elif SIREN_RE.match(identifier) or COMMUNE_RE.match(identifier):
        commune = await (
            repository.commune_by_siren(identifier)
            if SIREN_RE.match(identifier)
            else repository.get_commune(identifier)
        )
        if commune is not None:
            found = _collectivite(
                CollectiviteLevel.commune,
                commune.code,
                commune.siren,
                commune.name,
                [commune.region_code],
                [commune.departement_code],
                epci=commune.epci_siren,
            )
    elif (departement := await repository.get_departement(identifier)) is not None:
        found = _collectivite(
            CollectiviteLevel.departement,
            departement.code,
            None,
            departement.name,
            [departement.region_code],
            [departement.code],
        )
    if found is None:
        raise NotFound(f"No collectivité with SIREN or INSEE code {identifier!r}")
    return found


def _collectivite(
    level: CollectiviteLevel,
    code: str,
    siren: str | None,
    name: str,
    regions: list[str],
    departements: list[str],
    *,
    epci: str | None = None,
) -> CollectiviteRead:
    return CollectiviteRead(
        level=level, code=code, siren=siren, name=name, regions=regions, departements=departements, epci=epci
    )


# CRTE


async def list_crtes(session: AsyncSession, *, region: str | None, params: PageParams) -> Page[CrteRead]:
    repository = TerritoryRepository(session)
    rows, total = await paginate(session, repository.crtes_statement(region=region), params)
    counts = Counter(crte_id for crte_id, _ in await repository.crte_covered_communes([c.id for c in rows]))
    return _page([_crte(c, counts[c.id]) for c in rows], total, params)


async def get_crte(session: AsyncSession, crte_id: str) -> CrteDetail:
    repository = TerritoryRepository(session)
    crte = await repository.get_crte(crte_id)
    if crte is None:
        raise NotFound(f"No CRTE with id {crte_id!r}")
    members = await repository.crte_members([crte_id])
    epcis = await repository.epcis_by_siren([m.epci_siren for m in members if m.epci_siren])
    communes = await repository.communes_by_code([m.commune_code for m in members if m.commune_code])
    rows = [
        CrteMemberRead(kind=CrteMemberKind.epci, code=e.siren, name=e.name, population=e.population)
        for e in epcis.values()
    ] + [
        CrteMemberRead(kind=CrteMemberKind.commune, code=c.code, name=c.name, population=c.population)
        for c in communes.values()
    ]
    covered = await repository.crte_covered_communes([crte_id])
    return CrteDetail(
        **_crte(crte, len(covered)).model_dump(),
        members=sorted(rows, key=lambda m: (m.kind != CrteMemberKind.epci, m.code)),
    )


def _crte(c: Crte, commune_count: int) -> CrteRead:
    return CrteRead(
        id=c.id,
        name=c.name,
        region=c.region_code,
        departement=c.departement_code,
        population=c.population,
        commune_count=commune_count,
    )


async def refresh_crte(session: AsyncSession, crte_ids: Collection[str] | None = None) -> None:
    """Recompute the derived région and population of CRTE (all of them by default) from their members."""
    repository = TerritoryRepository(session)
    covered: defaultdict[str, list[Weighted]] = defaultdict(list)
    for crte_id, commune in await repository.crte_covered_communes(crte_ids):
        covered[crte_id].append((commune.region_code, commune.departement_code, commune.population))
    for crte in await repository.crtes():
        if crte_ids is not None and crte.id not in crte_ids:
            continue
        communes = covered.get(crte.id)
        if communes:  # a CRTE whose members all vanished from the COG keeps its last région
            crte.region_code = attach_group(communes)[0]
        crte.population = sum(population for _, _, population in communes or ())
    await session.flush()
