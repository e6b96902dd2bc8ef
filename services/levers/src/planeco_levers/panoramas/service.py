"""Panorama versions: import (all-or-nothing, idempotent) and the région / national / comparison reads.

Sums are exact Decimal additions done here, never SQL SUM (SQLite would sum floats). The national value of a
lever is the sum of its régions; sector and région totals are sums of levers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.adjustments.figures import adjusted_figures
from planeco_levers.adjustments.repository import AdjustmentRepository
from planeco_levers.db import AuditEntry
from planeco_levers.levers.conversion import Factors, js_round, physical_2030
from planeco_levers.levers.models import LeverVersion
from planeco_levers.levers.vocabulary import GROUP_VOCABULARY, SECTOR_VOCABULARY
from planeco_levers.panoramas.importer import (
    VERSION_PATTERN,
    PanoramaFileError,
    parse_panorama,
    shipped_panoramas,
)
from planeco_levers.panoramas.models import PanoramaObjective, PanoramaVersion
from planeco_levers.panoramas.repository import FigureRow, PanoramaRepository
from planeco_levers.panoramas.schemas import (
    ComparisonRead,
    DifferenceStatus,
    ImportOutcome,
    ImportReport,
    LeverDifference,
    NationalLever,
    NationalPanoramaRead,
    PanoramaVersionRead,
    RegionLeverRead,
    RegionPanoramaLever,
    RegionPanoramaRead,
    RegionSectorTotal,
    RegionSummary,
    SectorTotal,
)
from planeco_levers.territories.service import region_names
from planeco_shared.audit import record
from planeco_shared.identity import Principal
from planeco_shared.pagination import Page, PageParams, paginate
from planeco_shared.problems import Conflict, FieldError, NotFound, UnprocessableEntity

ZERO = Decimal(0)


def one_line(label: str | None) -> str | None:
    """'milliers de véhicules…\\n(en 2030)' → 'milliers de véhicules… (en 2030)'."""
    return " ".join(label.split()) if label is not None else None


def check_version_id(version: str, *, loc: Sequence[str | int] = ("query", "version")) -> None:
    valid = re.match(VERSION_PATTERN, version) is not None
    if valid:
        try:
            dt.date.fromisoformat(version)
        except ValueError:
            valid = False
    if not valid:
        raise UnprocessableEntity(
            "A panorama version is the SGPE release date, YYYY-MM-DD",
            errors=[FieldError(loc=list(loc), msg="expected a date YYYY-MM-DD", type="version_format")],
        )


# versions


async def resolve_version(session: AsyncSession, version: str | None) -> str | None:
    """The version asked for (404 if unknown), else the latest one (None when nothing is imported)."""
    repository = PanoramaRepository(session)
    if version is None:
        return await repository.latest_version_id()
    if await repository.get_version(version) is None:
        raise NotFound(f"No panorama version {version!r}; GET /api/v1/panoramas lists them")
    return version


async def latest_version(session: AsyncSession) -> str | None:
    return await PanoramaRepository(session).latest_version_id()


async def require_version(session: AsyncSession, version: str) -> PanoramaVersion:
    found = await PanoramaRepository(session).get_version(version)
    if found is None:
        raise NotFound(f"No panorama version {version!r}; GET /api/v1/panoramas lists them")
    return found


def _version_read(version: PanoramaVersion, latest: str | None) -> PanoramaVersionRead:
    return PanoramaVersionRead(
        version=version.id,
        latest=version.id == latest,
        source_file=version.source_file,
        sha256=version.sha256,
        content_sha256=version.content_sha256,
        imported_at=version.imported_at,
        row_count=version.row_count,
        objective_count=version.objective_count,
        skipped_row_count=version.skipped_row_count,
        lever_count=version.lever_count,
        region_count=version.region_count,
        source_fields=[str(f) for f in version.source_fields],
        warnings=[str(w) for w in version.warnings],
    )


async def list_versions(session: AsyncSession, params: PageParams) -> Page[PanoramaVersionRead]:
    repository = PanoramaRepository(session)
    rows, total = await paginate(session, repository.versions_statement(), params)
    latest = await repository.latest_version_id()
    return Page.of([_version_read(v, latest) for v in rows], total, params)


async def get_version(session: AsyncSession, version: str) -> PanoramaVersionRead:
    found = await require_version(session, version)
    return _version_read(found, await PanoramaRepository(session).latest_version_id())


# import


def _report(version: PanoramaVersion, outcome: ImportOutcome) -> ImportReport:
    return ImportReport(
        version=version.id,
        outcome=outcome,
        source_file=version.source_file,
        sha256=version.sha256,
        content_sha256=version.content_sha256,
        row_count=version.row_count,
        objective_count=version.objective_count,
        skipped_row_count=version.skipped_row_count,
        lever_count=version.lever_count,
        region_count=version.region_count,
        warnings=[str(w) for w in version.warnings],
    )


async def import_panorama(
    session: AsyncSession,
    content: bytes,
    *,
    version: str,
    source_file: str,
    principal: Principal,
    replace: bool = False,
) -> ImportReport:
    """Validate the whole file, then write it (flush only: the caller's transaction commits).

    Same version and same content: nothing is written (outcome `unchanged`). Same version, other content:
    409 unless `replace`. Invalid file: 422 with one error per row and field, nothing written.
    """
    check_version_id(version)
    try:
        parsed = parse_panorama(content)
    except PanoramaFileError as exc:
        raise UnprocessableEntity(
            f"Panorama {version} refused, nothing imported. {exc.message}",
            errors=exc.errors,
            code="invalid-panorama",
        ) from exc
    repository = PanoramaRepository(session)
    existing = await repository.get_version(version)
    outcome = ImportOutcome.created
    if existing is not None:
        if existing.content_sha256 == parsed.content_sha256:
            return _report(existing, ImportOutcome.unchanged)
        if not replace:
            raise Conflict(
                f"Panorama {version} is already imported with other content "
                f"(file sha256 {existing.sha256[:12]}…, now {hashlib.sha256(content).hexdigest()[:12]}…); "
                "import it with replace to overwrite it",
                code="panorama-version-exists",
            )
        await repository.delete_version(version)
        outcome = ImportOutcome.replaced

    positions = {t.id: SECTOR_VOCABULARY.position(t.id) for t in parsed.sectors}
    positions |= {t.id: GROUP_VOCABULARY.position(t.id) for t in parsed.groups}
    await repository.upsert_terms(parsed.sectors, parsed.groups, positions)
    values: dict[str, Any] = {
        "id": version,
        "source_file": source_file[:255],
        "sha256": hashlib.sha256(content).hexdigest(),
        "content_sha256": parsed.content_sha256,
        "imported_by": principal.subject[:200],
        "row_count": parsed.row_count,
        "objective_count": len(parsed.objectives),
        "skipped_row_count": parsed.skipped_row_count,
        "lever_count": len(parsed.levers),
        "region_count": parsed.region_count,
        "source_fields": parsed.source_fields,
        "warnings": parsed.warnings,
    }
    await repository.add_version(values)
    await repository.add_rows(
        LeverVersion, [{"version_id": version, **asdict(lever)} for lever in parsed.levers]
    )
    await repository.add_rows(
        PanoramaObjective, [{"version_id": version, **asdict(objective)} for objective in parsed.objectives]
    )
    record(
        session,
        AuditEntry,
        principal=principal,
        action="replace" if outcome is ImportOutcome.replaced else "import",
        entity_type="panorama_version",
        entity_id=version,
        changes={
            "sha256": {"old": existing.sha256 if existing else None, "new": values["sha256"]},
            "objective_count": {
                "old": existing.objective_count if existing else None,
                "new": values["objective_count"],
            },
        },
    )
    await session.flush()
    imported = await repository.get_version(version)
    assert imported is not None
    return _report(imported, outcome)


# reads


class _Labels:
    def __init__(self, sectors: dict[str, tuple[str, int]], groups: dict[str, str]) -> None:
        self.sectors = sectors
        self.groups = groups

    @classmethod
    async def load(cls, repository: PanoramaRepository) -> _Labels:
        return cls(await repository.sector_labels(), await repository.group_labels())

    def sector(self, sector_id: str) -> str:
        return self.sectors.get(sector_id, (sector_id, 0))[0]

    def group(self, group_id: str) -> str:
        return self.groups.get(group_id, group_id)

    def totals(self, pairs: Iterable[tuple[str, Decimal]]) -> list[SectorTotal]:
        sums: dict[str, Decimal] = defaultdict(Decimal)
        counts: dict[str, int] = defaultdict(int)
        for sector_id, value in pairs:
            sums[sector_id] += value
            counts[sector_id] += 1
        order = sorted(sums, key=lambda s: (self.sectors.get(s, ("", 10_000))[1], s))
        return [
            SectorTotal(sector=s, label=self.sector(s), lever_count=counts[s], objective_ktco2e=sums[s])
            for s in order
        ]


def _figures(row: FigureRow | PanoramaObjective, labels: _Labels) -> dict[str, Any]:
    physical = None
    if row.has_physical_unit:
        physical = physical_2030(
            row.objective_ktco2e, Factors(ratio=row.ratio, start_2019=row.start_2019, has_physical_unit=True)
        )
    return {
        "lever_id": row.lever_id,
        "name": row.name,
        "sector": row.sector_id,
        "sector_label": labels.sector(row.sector_id),
        "group": row.group_id,
        "group_label": labels.group(row.group_id),
        "objective_ktco2e": row.objective_ktco2e,
        "unit": one_line(row.unit_physical) if row.has_physical_unit else None,
        "unit_co2": one_line(row.unit_co2),
        "start_2019": row.start_2019,
        "ratio": row.ratio,
        "physical_2030": physical,
        "physical_2030_rounded": js_round(physical, 1) if physical is not None else None,
        "has_physical_unit": row.has_physical_unit,
        "editable": row.editable,
        "show_target": row.show_target,
        "region_enabled": row.region_enabled,
        "region_locked": row.region_locked,
        "region_hidden": row.region_hidden,
        "region_limited": row.region_limited,
    }


def region_fields(code: str, names: dict[str, str]) -> dict[str, str]:
    """How every read names its région: the INSEE code and the official name (`region_names`)."""
    return {"region": code, "region_name": names.get(code, code)}


def _unknown_region(code: str) -> NotFound:
    return NotFound(f"No région with INSEE code {code!r}")


async def region_panorama(session: AsyncSession, version: str, code: str) -> RegionPanoramaRead:
    await require_version(session, version)
    names = await region_names(session)
    if code not in names:
        raise _unknown_region(code)
    repository = PanoramaRepository(session)
    rows = await repository.figures(version, region=code)
    if not rows:
        raise NotFound(f"Panorama {version} has no objectives for région {code} ({names[code]})")
    labels = await _Labels.load(repository)
    # The région's own objectives (one query): beside the official ones, and summed into the adjusted view.
    adjustments = await AdjustmentRepository(session).active_of_region(code)
    adjusted = {
        row.lever_id: adjusted_figures(adjustments[row.lever_id], version)
        for row in rows
        if row.lever_id in adjustments
    }
    effective = [
        (
            row.sector_id,
            adjusted[row.lever_id].objective_ktco2e if row.lever_id in adjusted else row.objective_ktco2e,
        )
        for row in rows
    ]
    adjusted_sums = {total.sector: total.objective_ktco2e for total in labels.totals(effective)}
    adjusted_counts = Counter(row.sector_id for row in rows if row.lever_id in adjusted)
    return RegionPanoramaRead(
        version=version,
        **region_fields(code, names),
        source_region_name=rows[0].region_name_source,
        lever_count=len(rows),
        total_ktco2e=sum((row.objective_ktco2e for row in rows), ZERO),
        adjusted_lever_count=len(adjusted),
        adjusted_total_ktco2e=sum((value for _, value in effective), ZERO),
        sectors=[
            RegionSectorTotal(
                **total.model_dump(),
                adjusted_lever_count=adjusted_counts[total.sector],
                adjusted_objective_ktco2e=adjusted_sums[total.sector],
            )
            for total in labels.totals((row.sector_id, row.objective_ktco2e) for row in rows)
        ],
        levers=[
            RegionPanoramaLever.model_validate(
                _figures(row, labels) | {"adjusted": adjusted.get(row.lever_id)}
            )
            for row in rows
        ],
    )


async def lever_not_in_region(session: AsyncSession, version: str, lever_id: str, code: str) -> NotFound:
    """The clearest 404 for a lever × région that has no row: which of the three is missing, and why."""
    repository = PanoramaRepository(session)
    names = await region_names(session)
    if code not in names:
        return _unknown_region(code)
    levers = await repository.levers_of_version(version)
    lever = levers.get(lever_id)
    if lever is None:
        return NotFound(f"No lever {lever_id!r} in panorama {version}")
    if code not in await repository.region_codes_of_version(version):
        return NotFound(f"Panorama {version} has no objectives for région {code} ({names[code]})")
    lever_set = (
        "the overseas lever set"
        if lever.in_overseas and not lever.in_mainland
        else "the mainland lever set"
        if lever.in_mainland and not lever.in_overseas
        else "the régions that have it"
    )
    return NotFound(
        f"Lever {lever_id!r} has no objective for région {code} ({names[code]}) "
        f"in panorama {version}: it belongs to {lever_set} ({lever.region_count} régions)"
    )


async def region_lever(session: AsyncSession, version: str, code: str, lever_id: str) -> RegionLeverRead:
    await require_version(session, version)
    repository = PanoramaRepository(session)
    objective = await repository.get_objective(version, lever_id, code)
    if objective is None:
        raise await lever_not_in_region(session, version, lever_id, code)
    labels = await _Labels.load(repository)
    return RegionLeverRead.model_validate(
        _figures(objective, labels)
        | {
            "version": version,
            **region_fields(code, await region_names(session)),
            "source_region_name": objective.region_name_source,
            "source_row": objective.row_index,
            "unit_source": objective.unit_physical,
            "unit_co2_source": objective.unit_co2,
            "relative": objective.relative,
            "comment": objective.comment,
            "region_comment": objective.region_comment,
            "region_locked_comment": objective.region_locked_comment,
            "disabled_comment": objective.disabled_comment,
            "path_sector": objective.path_sector,
            "path_group": objective.path_group,
        }
    )


async def list_regions(session: AsyncSession, version: str) -> list[RegionSummary]:
    await require_version(session, version)
    rows = await PanoramaRepository(session).figures(version)
    names = await region_names(session)
    by_region: dict[str, list[FigureRow]] = defaultdict(list)
    for row in rows:
        by_region[row.region_code].append(row)
    return [
        RegionSummary(
            code=code,
            name=names.get(code, code),
            source_name=members[0].region_name_source,
            lever_count=len(members),
            total_ktco2e=sum((m.objective_ktco2e for m in members), ZERO),
        )
        for code, members in sorted(by_region.items())
    ]


async def national(session: AsyncSession, version: str) -> NationalPanoramaRead:
    await require_version(session, version)
    repository = PanoramaRepository(session)
    rows = await repository.figures(version)
    levers = await repository.levers_of_version(version)
    labels = await _Labels.load(repository)
    sums: dict[str, Decimal] = defaultdict(Decimal)
    regions: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        sums[row.lever_id] += row.objective_ktco2e
        regions[row.lever_id].append(row.region_code)
    national_levers = [
        NationalLever(
            lever_id=lever_id,
            name=lever.name,
            sector=lever.sector_id,
            sector_label=labels.sector(lever.sector_id),
            group=lever.group_id,
            group_label=labels.group(lever.group_id),
            region_count=len(regions[lever_id]),
            regions=sorted(regions[lever_id]),
            objective_ktco2e=sums[lever_id],
        )
        for lever_id, lever in levers.items()
    ]
    return NationalPanoramaRead(
        version=version,
        region_count=len({row.region_code for row in rows}),
        lever_count=len(national_levers),
        total_ktco2e=sum((row.objective_ktco2e for row in rows), ZERO),
        # Each objective row counts in its own row's sector.
        sectors=_national_sector_totals(rows, labels),
        levers=national_levers,
    )


def _national_sector_totals(rows: Sequence[FigureRow], labels: _Labels) -> list[SectorTotal]:
    totals = labels.totals((row.sector_id, row.objective_ktco2e) for row in rows)
    levers_per_sector: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        levers_per_sector[row.sector_id].add(row.lever_id)
    return [t.model_copy(update={"lever_count": len(levers_per_sector[t.sector])}) for t in totals]


async def _objectives_by_lever(
    repository: PanoramaRepository, version: str, region: str | None
) -> tuple[dict[str, Decimal], dict[str, FigureRow]]:
    sums: dict[str, Decimal] = defaultdict(Decimal)
    first: dict[str, FigureRow] = {}
    for row in await repository.figures(version, region=region):
        sums[row.lever_id] += row.objective_ktco2e
        first.setdefault(row.lever_id, row)
    return dict(sums), first


async def compare(
    session: AsyncSession, version: str, from_version: str, region: str | None
) -> ComparisonRead:
    await require_version(session, version)
    check_version_id(from_version, loc=("query", "from"))
    await require_version(session, from_version)
    repository = PanoramaRepository(session)
    names = await region_names(session)
    if region is not None and region not in names:
        raise _unknown_region(region)
    to_values, to_rows = await _objectives_by_lever(repository, version, region)
    from_values, from_rows = await _objectives_by_lever(repository, from_version, region)
    if region is not None and not to_values and not from_values:
        raise NotFound(f"Neither panorama {version} nor {from_version} has objectives for région {region}")
    labels = await _Labels.load(repository)
    # Names and sectors: the région's own rows, or for national sums the versions' catalogue entries.
    described: dict[str, Any] = {}
    if region is None:
        described = await repository.levers_of_version(from_version) | await repository.levers_of_version(
            version
        )
    differences = []
    for lever_id in [*to_rows, *(lever for lever in from_rows if lever not in to_rows)]:
        new, old = to_values.get(lever_id), from_values.get(lever_id)
        row = described.get(lever_id) or to_rows.get(lever_id) or from_rows[lever_id]
        if old is None:
            status = DifferenceStatus.added
        elif new is None:
            status = DifferenceStatus.removed
        else:
            status = DifferenceStatus.unchanged if new == old else DifferenceStatus.changed
        differences.append(
            LeverDifference(
                lever_id=lever_id,
                name=row.name,
                sector=row.sector_id,
                sector_label=labels.sector(row.sector_id),
                status=status,
                from_ktco2e=old,
                to_ktco2e=new,
                difference_ktco2e=(new or ZERO) - (old or ZERO),
            )
        )
    from_total = sum(from_values.values(), ZERO)
    to_total = sum(to_values.values(), ZERO)
    return ComparisonRead(
        version=version,
        from_version=from_version,
        **(region_fields(region, names) if region is not None else {"region": None, "region_name": None}),
        from_total_ktco2e=from_total,
        to_total_ktco2e=to_total,
        difference_ktco2e=to_total - from_total,
        added=[d.lever_id for d in differences if d.status is DifferenceStatus.added],
        removed=[d.lever_id for d in differences if d.status is DifferenceStatus.removed],
        changed_count=sum(1 for d in differences if d.status is DifferenceStatus.changed),
        levers=differences,
    )


async def import_shipped_panoramas(session: AsyncSession, *, principal: Principal) -> list[ImportReport]:
    """Import every panorama shipped in data/sgpe-panorama/ (idempotent: unchanged versions are skipped)."""
    return [
        await import_panorama(
            session, path.read_bytes(), version=version, source_file=path.name, principal=principal
        )
        for version, path in shipped_panoramas()
    ]


def describe(report: ImportReport) -> list[str]:
    """Human lines for a CLI or a log: the outcome, the counts, then each warning."""
    lines = [
        f"panorama {report.version} {report.outcome.value}: {report.row_count} rows, "
        f"{report.objective_count} objectives, {report.lever_count} levers, {report.region_count} régions, "
        f"{report.skipped_row_count} rows skipped (sha256 {report.sha256[:12]}…)"
    ]
    lines += [f"  warning: {warning}" for warning in report.warnings]
    return lines
