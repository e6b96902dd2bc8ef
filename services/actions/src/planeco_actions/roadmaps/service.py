"""The roadmap of a région: per lever of its panorama, the objective in use (the région's adjusted one
where it set one, else the official one), what its actions reach by status, the remaining gap in ktCO2e
and in the lever's unit, the share covered; totals per sector and for the région.

Rounding: the ktCO2e figures are never rounded. Objectives come as the levers service gives them (a
département's: its declination at 0.001 ktCO2e by largest remainders, adding up to the région's rounded to
0.001), impacts as stored (4 places), so sums and differences are exact Decimals and the levers add up to
their sector and the sectors to the région, to the last digit. Only the derived figures are rounded, each
once, from exact values: `gap_physical` (gap × ratio) to 0.001 and `covered_share` (committed / objective)
to 0.0001, both ROUND_HALF_EVEN; they are never summed.

On track: per lever, where a straight path from 0 in 2019 to the objective in 2030 stands in the year
asked, against what the `realisee` actions and the latest progress updates reach (`PATH` says it in full);
sectors and totals sum their levers' figures.

An impact stored at another panorama version than the roadmap's is counted as stored (a figure never
changes silently) and flagged `other_version`; one on a lever the version does not have is `unplaced`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_actions.actions.models import ActionStatus
from planeco_actions.followups.models import ProgressUpdate
from planeco_actions.followups.repository import ProgressRepository
from planeco_actions.roadmaps import calendar_view, financing
from planeco_actions.roadmaps.repository import RoadmapAction, RoadmapRepository
from planeco_actions.roadmaps.schemas import (
    CalendarRead,
    Figures,
    FinancingRead,
    ObjectiveSource,
    ProgressSummary,
    RoadmapActionImpact,
    RoadmapLever,
    RoadmapRead,
    RoadmapScope,
    RoadmapSector,
)
from planeco_shared.clients.base import ReferenceCheck
from planeco_shared.clients.levers import (
    Declination,
    DeclinationLevel,
    LeversClient,
    PanoramaLever,
    RegionPanorama,
)
from planeco_shared.identity import Principal
from planeco_shared.problems import NotFound

ZERO = Decimal(0)
PHYSICAL_PLACES = Decimal("0.001")
SHARE_PLACES = Decimal("0.0001")
ROUNDING = (
    "ktCO2e exact (sums of the stored 4-place impacts and of the objectives as the levers service gives "
    "them), expected and reached to 0.0001 (see path); gap_physical to 0.001 and covered_share to "
    "0.0001, ROUND_HALF_EVEN, each from exact values"
)
PRECISION = "0.001"  # the département's declined objectives, ktCO2e
KTCO2E_PLACES = Decimal("0.0001")
PATH_START, PATH_END = 2019, 2030
PATH = (
    "A straight line from 0 ktCO2e avoided in 2019 (the panorama's base year) to the objective in 2030: "
    "expected in `year` = objective × (year − 2019) / 11 (2030 and after: the objective), per lever to "
    "0.0001 ROUND_HALF_EVEN; sectors and totals sum their levers. Reached: the impact of the `realisee` "
    "actions, plus for `retenue` and `en_cours` ones the part their latest progress update says (the "
    "indicator value over the stored ratio on the main lever, else impact × percent_done / 100; at most "
    "the impact), each to 0.0001. On track: reached ≥ expected."
)
COUNTED = (ActionStatus.realisee, ActionStatus.en_cours, ActionStatus.retenue)


@dataclass(frozen=True, slots=True)
class LeverObjective:
    """A lever of the roadmap: its panorama figures, the objective in use, which it is, the official one,
    and whether its gap reads in its physical unit (not for an intensity declined to a département)."""

    lever: PanoramaLever
    objective: Decimal
    source: ObjectiveSource
    official: Decimal
    physical: bool


@dataclass(slots=True)
class _Sums:
    objective: Decimal = ZERO
    expected: Decimal = ZERO
    reached: Decimal = ZERO
    by_status: dict[ActionStatus, Decimal] = field(default_factory=dict)

    def add(self, status: ActionStatus, ktco2e: Decimal) -> None:
        self.by_status[status] = self.by_status.get(status, ZERO) + ktco2e

    def merge(self, other: _Sums) -> None:
        self.objective += other.objective
        self.expected += other.expected
        self.reached += other.reached
        for status, value in other.by_status.items():
            self.add(status, value)

    def figures(self) -> dict[str, Any]:
        def of(status: ActionStatus) -> Decimal:
            return self.by_status.get(status, ZERO)

        committed = sum((of(status) for status in COUNTED), ZERO)
        share: Decimal | None = None
        if self.objective:
            with localcontext(Context(prec=60)):
                share = (committed / self.objective).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN) + 0
        return {
            "objective_ktco2e": self.objective,
            "realisee_ktco2e": of(ActionStatus.realisee),
            "en_cours_ktco2e": of(ActionStatus.en_cours),
            "retenue_ktco2e": of(ActionStatus.retenue),
            "committed_ktco2e": committed,
            "proposee_ktco2e": of(ActionStatus.proposee),
            "gap_ktco2e": self.objective - committed,
            "covered_share": share,
            "expected_ktco2e": self.expected,
            "reached_ktco2e": self.reached,
            "on_track": self.reached >= self.expected,
        }


def expected_on_path(objective: Decimal, year: int) -> Decimal:
    """Where a straight path from 0 avoided in 2019 to the objective in 2030 stands in `year` (2019: 0;
    2030 and after: the objective), to 0.0001, ROUND_HALF_EVEN."""
    elapsed = min(max(year - PATH_START, 0), PATH_END - PATH_START)
    with localcontext(Context(prec=60)):
        value = objective * elapsed / (PATH_END - PATH_START)
        return value.quantize(KTCO2E_PLACES, rounding=ROUND_HALF_EVEN) + 0


def reached(
    action: RoadmapAction, lever_id: str, impact: dict[str, Any] | None, latest: ProgressUpdate | None
) -> Decimal:
    """What the action reaches so far on the lever: all of its impact once `realisee`; before, the part
    its latest progress update says: the indicator value (the main lever's physical change so far)
    converted with the impact's stored ratio, else the impact × percent_done / 100; 0 without an update.
    To 0.0001, ROUND_HALF_EVEN, at most the impact."""
    if impact is None:
        return ZERO
    full = Decimal(impact["ktco2e"])
    if action.status is ActionStatus.realisee:
        return full
    if latest is None or action.status not in COUNTED:
        return ZERO
    with localcontext(Context(prec=60)):
        ratio = Decimal(impact["ratio"]) if impact.get("ratio") is not None else ZERO
        if lever_id == action.lever_id and latest.indicator_value is not None and ratio:
            part = latest.indicator_value / ratio
        else:
            part = full * latest.percent_done / 100
        part = min(max(part, ZERO), full)
        return part.quantize(KTCO2E_PLACES, rounding=ROUND_HALF_EVEN) + 0


def _impact_entry(
    action: RoadmapAction,
    lever_id: str,
    impact: dict[str, Any] | None,
    version: str,
    latest: ProgressUpdate | None,
) -> RoadmapActionImpact:
    stored_version = impact.get("version") if impact else None
    return RoadmapActionImpact(
        action_id=action.id,
        title=action.title,
        status=action.status,
        territory_level=action.territory_level,
        territory_code=action.territory_code,
        departement=action.departement_code,
        published=action.published,
        ktco2e=Decimal(impact["ktco2e"]) if impact else None,
        physical=Decimal(impact["physical"]) if impact and impact.get("physical") is not None else None,
        version=stored_version,
        other_version=impact is not None and stored_version != version,
        reached_ktco2e=reached(action, lever_id, impact, latest),
        latest_progress=ProgressSummary.model_validate(latest) if latest is not None else None,
    )


def _action_levers(action: RoadmapAction) -> list[str]:
    levers = [action.lever_id] if action.lever_id else []
    levers += [lever for lever in action.other_lever_ids if lever not in levers]
    levers += [impact["lever_id"] for impact in action.impacts if impact["lever_id"] not in levers]
    return levers


def build(
    *,
    region: str,
    version: str,
    scope: RoadmapScope,
    levers: Iterable[LeverObjective],
    actions: Sequence[RoadmapAction],
    progress: Mapping[uuid.UUID, ProgressUpdate],
    year: int,
    departement: str | None = None,
) -> RoadmapRead:
    """The roadmap from its levers and the actions counted."""
    rows = list(levers)
    known = {row.lever.lever_id for row in rows}
    entries: dict[str, list[tuple[RoadmapAction, dict[str, Any] | None]]] = {
        lever_id: [] for lever_id in known
    }
    unplaced: list[RoadmapActionImpact] = []
    for action in actions:
        impacts = {impact["lever_id"]: impact for impact in action.impacts}
        for lever_id in _action_levers(action):
            impact = impacts.get(lever_id)
            if lever_id in known:
                entries[lever_id].append((action, impact))
            elif impact is not None:
                unplaced.append(_impact_entry(action, lever_id, impact, version, progress.get(action.id)))

    lever_reads: list[RoadmapLever] = []
    sectors: dict[str, _Sums] = {}
    total = _Sums()
    for row in rows:
        lever = row.lever
        sums = _Sums(objective=row.objective, expected=expected_on_path(row.objective, year))
        impacts_read = [
            _impact_entry(action, lever.lever_id, impact, version, progress.get(action.id))
            for action, impact in entries[lever.lever_id]
        ]
        for item in impacts_read:
            if item.ktco2e is not None:
                sums.add(item.status, item.ktco2e)
                sums.reached += item.reached_ktco2e
        figures = sums.figures()
        gap_physical: Decimal | None = None
        if lever.has_physical_unit and row.physical:
            with localcontext(Context(prec=60)):
                gap_physical = (figures["gap_ktco2e"] * lever.ratio).quantize(
                    PHYSICAL_PLACES, rounding=ROUND_HALF_EVEN
                ) + 0
        lever_reads.append(
            RoadmapLever(
                lever_id=lever.lever_id,
                name=lever.name,
                sector=lever.sector,
                unit=lever.unit,
                objective_source=row.source,
                official_objective_ktco2e=row.official,
                ratio=lever.ratio,
                gap_physical=gap_physical,
                other_version_impacts=sum(1 for item in impacts_read if item.other_version),
                actions=impacts_read,
                **figures,
            )
        )
        sectors.setdefault(lever.sector, _Sums()).merge(sums)
        total.merge(sums)
    return RoadmapRead(
        region=region,
        departement=departement,
        version=version,
        scope=scope,
        year=year,
        path=PATH,
        rounding=ROUNDING,
        levers=lever_reads,
        sectors=[RoadmapSector(sector=name, **sums.figures()) for name, sums in sectors.items()],
        total=Figures(**total.figures()),
        unplaced=unplaced,
    )


async def _scope(principal: Principal, region: str, regions: frozenset[str] | None) -> RoadmapScope:
    if principal.is_authenticated and (regions is None or region in regions):
        return RoadmapScope.all
    return RoadmapScope.published


async def _panorama(levers: LeversClient, version: str, region: str) -> RegionPanorama:
    check = ReferenceCheck()
    found = await check.exists(
        levers.get_panorama_version(version), loc=["query", "version"], what=f"panorama version {version}"
    )
    check.raise_if_any()
    assert found is not None
    return await levers.region_panorama(found.version, region)  # 404: no such région


async def _actions_and_progress(
    session: AsyncSession, region: str, *, published_only: bool, departement: str | None = None
) -> tuple[list[RoadmapAction], dict[uuid.UUID, ProgressUpdate]]:
    """The actions a roadmap counts and the latest progress update of those that have one."""
    repository = RoadmapRepository(session)
    actions = await repository.roadmap_actions(region, published_only=published_only, departement=departement)
    counted = repository.counted_ids(region, published_only=published_only, departement=departement)
    return actions, await ProgressRepository(session).latest(counted)


async def region_roadmap(
    session: AsyncSession,
    region: str,
    *,
    version: str,
    year: int,
    principal: Principal,
    regions: frozenset[str] | None,
    levers: LeversClient,
) -> RoadmapRead:
    """`regions`: what the caller may read (None: all); anonymous callers and those of other régions see
    the roadmap of the published actions only."""
    panorama = await _panorama(levers, version, region)
    scope = await _scope(principal, region, regions)
    actions, progress = await _actions_and_progress(
        session, region, published_only=scope is RoadmapScope.published
    )
    rows = [
        LeverObjective(
            lever,
            lever.adjusted.objective_ktco2e if lever.adjusted else lever.objective_ktco2e,
            ObjectiveSource.adjusted if lever.adjusted else ObjectiveSource.official,
            lever.objective_ktco2e,
            physical=True,
        )
        for lever in panorama.levers
    ]
    return build(
        region=region,
        version=panorama.version,
        scope=scope,
        levers=rows,
        actions=actions,
        progress=progress,
        year=year,
    )


def _declined(declination: Declination, departement: str) -> dict[str, tuple[Decimal, str]]:
    """Per lever: the département's declined objective and how its physical figures decline."""
    out: dict[str, tuple[Decimal, str]] = {}
    for lever in declination.levers:
        for child in lever.children:
            if child.code == departement:
                out[lever.lever_id] = (child.objective_ktco2e, lever.physical_method)
    return out


async def departement_roadmap(
    session: AsyncSession,
    region: str,
    departement: str,
    *,
    version: str,
    year: int,
    principal: Principal,
    regions: frozenset[str] | None,
    levers: LeversClient,
) -> RoadmapRead:
    """The roadmap of one département of the région: its declined objectives (the levers service's
    declination by population or the région's keys, at 0.001 ktCO2e by largest remainders, so that the
    départements add up to the région's objective rounded to 0.001), the official one, or the adjusted one
    where the région set one; the actions located in it. The gap in physical units uses the région's ratio,
    for levers whose physical figures decline (not intensities)."""
    panorama = await _panorama(levers, version, region)
    found = await levers.get_departement(departement)  # 404: no such département
    if found.region != region:
        raise NotFound(f"Département {departement} is not in région {region}")
    level = DeclinationLevel.departement
    official = _declined(
        await levers.declination(panorama.version, region, level, precision=PRECISION), departement
    )
    adjusted = official
    if any(lever.adjusted for lever in panorama.levers):
        adjusted = _declined(
            await levers.declination(panorama.version, region, level, adjusted=True, precision=PRECISION),
            departement,
        )
    scope = await _scope(principal, region, regions)
    actions, progress = await _actions_and_progress(
        session, region, published_only=scope is RoadmapScope.published, departement=departement
    )
    rows = [
        LeverObjective(
            lever,
            adjusted[lever.lever_id][0] if lever.adjusted else official[lever.lever_id][0],
            ObjectiveSource.adjusted if lever.adjusted else ObjectiveSource.official,
            official[lever.lever_id][0],
            physical=official[lever.lever_id][1] == "apportioned",
        )
        for lever in panorama.levers
        if lever.lever_id in official
    ]
    return build(
        region=region,
        version=panorama.version,
        scope=scope,
        levers=rows,
        actions=actions,
        progress=progress,
        year=year,
        departement=departement,
    )


async def region_financing(
    session: AsyncSession,
    region: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    levers: LeversClient,
) -> FinancingRead:
    await levers.get_region(region)  # 404: no such région
    scope = await _scope(principal, region, regions)
    actions = await RoadmapRepository(session).region_actions(
        region, published_only=scope is RoadmapScope.published
    )
    return financing.build(region, scope, actions)


async def region_calendar(
    session: AsyncSession,
    region: str,
    *,
    principal: Principal,
    regions: frozenset[str] | None,
    levers: LeversClient,
) -> CalendarRead:
    await levers.get_region(region)  # 404: no such région
    scope = await _scope(principal, region, regions)
    actions = await RoadmapRepository(session).region_actions(
        region, published_only=scope is RoadmapScope.published
    )
    return calendar_view.build(region, scope, actions)
