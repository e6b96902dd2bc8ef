"""Regional adjustments: a région states its own objective for a lever, in ktCO2e or in the physical unit.

Rules:
- the lever must have an objective for the région in the version written through (404 otherwise) and be
  editable there (`editable`, i.e. not editionDisabled: 422 `lever-not-editable` otherwise);
- exactly one of `objective_ktco2e` / `objective_physical`; the other unit is derived (planeco_levers.
  adjustments.figures); levers without a physical unit take ktCO2e only;
- a PUT replaces the whole adjustment (omitted `done_ktco2e` / `planned_ktco2e` become "not stated"); a PUT
  that changes nothing writes nothing (same ETag, no history entry);
- every change is audited with every changed field old → new, derived values included.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from planeco_levers.adjustments.figures import adjusted_figures, derive, derived_of
from planeco_levers.adjustments.models import EnteredUnit, RegionAdjustment
from planeco_levers.adjustments.repository import ENTITY_TYPE, AdjustmentRepository, entity_id
from planeco_levers.adjustments.schemas import AdjustmentPut, AdjustmentRead, HistoryAction
from planeco_levers.db import AuditEntry
from planeco_levers.decimals import plain
from planeco_levers.levers.conversion import ConversionError, Factors
from planeco_levers.panoramas.models import PanoramaObjective
from planeco_levers.panoramas.repository import PanoramaRepository
from planeco_levers.panoramas.service import lever_not_in_region, one_line, require_version
from planeco_levers.territories.service import region_names
from planeco_shared.audit import diff, record
from planeco_shared.concurrency import etag
from planeco_shared.history import HistoryEntry, history_page
from planeco_shared.identity import Principal
from planeco_shared.models import utcnow
from planeco_shared.pagination import Page, PageParams, paginate
from planeco_shared.problems import FieldError, NotFound, UnprocessableEntity

# The fields the history shows, in this order.
AUDITED = (
    "anchored_version",
    "entered_unit",
    "objective_ktco2e",
    "objective_physical",
    "comment",
    "done_ktco2e",
    "planned_ktco2e",
    "ratio",
    "start_2019",
)
BODY_FIELD = {"ktco2e": "objective_ktco2e", "physical": "objective_physical", "lever": "objective_physical"}


def adjustment_etag(adjustment: RegionAdjustment) -> str:
    return etag(f"{adjustment.region_code}-{quote(adjustment.lever_id, safe='')}", adjustment.version)


async def _require_region(session: AsyncSession, code: str) -> None:
    if code not in await region_names(session):
        raise NotFound(f"No région with INSEE code {code!r}")


async def _objective(session: AsyncSession, version: str, code: str, lever_id: str) -> PanoramaObjective:
    objective = await PanoramaRepository(session).get_objective(version, lever_id, code)
    if objective is None:
        raise await lever_not_in_region(session, version, lever_id, code)
    return objective


def _audit_state(adjustment: RegionAdjustment | None) -> dict[str, str | None]:
    """What the history compares: every field as the API writes it (decimals in plain notation)."""
    if adjustment is None or not adjustment.active:
        return dict.fromkeys(AUDITED)
    derived = derived_of(adjustment)

    def text(value: Any) -> str | None:
        return None if value is None else plain(value)

    return {
        "anchored_version": adjustment.anchored_version,
        "entered_unit": adjustment.entered_unit,
        "objective_ktco2e": plain(derived.objective_ktco2e),
        "objective_physical": text(derived.physical_2030),
        "comment": adjustment.comment,
        "done_ktco2e": text(adjustment.done_ktco2e),
        "planned_ktco2e": text(adjustment.planned_ktco2e),
        "ratio": plain(adjustment.ratio),
        "start_2019": plain(adjustment.start_2019),
    }


def adjustment_read(adjustment: RegionAdjustment, read_version: str) -> AdjustmentRead:
    return AdjustmentRead(
        **adjusted_figures(adjustment, read_version).model_dump(),
        region=adjustment.region_code,
        lever_id=adjustment.lever_id,
        unit=one_line(adjustment.unit_physical) if adjustment.has_physical_unit else None,
        ratio=adjustment.ratio,
        start_2019=adjustment.start_2019,
        etag=adjustment_etag(adjustment),
    )


# reads


async def find_active(
    session: AsyncSession, version: str, code: str, lever_id: str
) -> tuple[str, RegionAdjustment | None]:
    """(the version, the active adjustment or None). 404: unknown version, région, or lever there."""
    await require_version(session, version)  # `latest` was resolved by the route (Version)
    await _require_region(session, code)
    adjustment = await AdjustmentRepository(session).get(code, lever_id)
    if adjustment is None or not adjustment.active:
        await _objective(session, version, code, lever_id)  # the clearest 404 when the lever is not there
        return version, None
    return version, adjustment


def no_adjustment(code: str, lever_id: str) -> NotFound:
    return NotFound(f"Région {code} has no adjustment for {lever_id}: the official objective applies")


async def list_adjustments(
    session: AsyncSession, version: str, code: str, params: PageParams
) -> Page[AdjustmentRead]:
    await require_version(session, version)  # `latest` was resolved by the route (Version)
    await _require_region(session, code)
    rows, total = await paginate(session, AdjustmentRepository(session).active_statement(code), params)
    return Page.of([adjustment_read(row, version) for row in rows], total, params)


async def history(
    session: AsyncSession, version: str, code: str, lever_id: str, params: PageParams
) -> Page[HistoryEntry]:
    await require_version(session, version)  # `latest` was resolved by the route (Version)
    await _require_region(session, code)
    statement = AdjustmentRepository(session).history_statement(code, lever_id)
    page = await history_page(session, statement, params, field_order=AUDITED)
    if page.total == 0:
        await _objective(session, version, code, lever_id)  # 404 for a lever the région never had here
    return page


# writes


@dataclass(frozen=True, slots=True)
class PutPlan:
    """A validated PUT, before its preconditions are checked: what it would write and whether it changes."""

    version: str
    code: str
    lever_id: str
    values: dict[str, Any]
    existing: RegionAdjustment | None  # the row, active or withdrawn
    before: dict[str, str | None]
    after: dict[str, str | None]

    @property
    def current(self) -> RegionAdjustment | None:
        """The active adjustment the PUT would replace (None: it creates one)."""
        return self.existing if self.existing is not None and self.existing.active else None

    @property
    def changes(self) -> dict[str, Any]:
        return diff(self.before, self.after)


def _conversion_problem(exc: ConversionError, lever_id: str, code: str, version: str) -> UnprocessableEntity:
    field = BODY_FIELD.get(exc.field, exc.field)
    message = exc.message
    if exc.code == "no-physical-unit":
        message = "This lever has no physical unit: give its objective as objective_ktco2e"
    elif exc.field == "ktco2e":
        message = message.replace("ktco2e", "objective_ktco2e", 1)
    elif exc.field == "physical":
        message = message.replace("physical", "objective_physical", 1)
    return UnprocessableEntity(
        f"{message} (lever {lever_id!r}, région {code}, panorama {version})",
        errors=[FieldError(loc=["body", field], msg=message, type=exc.code)],
        code=exc.code,
    )


async def plan_put(
    session: AsyncSession, version: str, code: str, lever_id: str, body: AdjustmentPut
) -> PutPlan:
    """Check everything that does not depend on preconditions (404, 422) and compute the new state."""
    await require_version(session, version)  # `latest` was resolved by the route (Version)
    await _require_region(session, code)
    objective = await _objective(session, version, code, lever_id)
    if not objective.editable:
        reason = (
            f" SGPE: {' '.join(objective.disabled_comment.split())}" if objective.disabled_comment else ""
        )
        raise UnprocessableEntity(
            f"Lever {lever_id!r} ({objective.name}) is not editable by the régions in panorama {version}: "
            f"région {code} keeps the official objective.{reason}",
            errors=[
                FieldError(loc=["path", "lever_id"], msg="this lever is not editable", type="not_editable")
            ],
            code="lever-not-editable",
        )
    if (body.objective_ktco2e is None) == (body.objective_physical is None):
        both = body.objective_ktco2e is not None
        message = (
            "give only one of objective_ktco2e or objective_physical: the other is derived"
            if both
            else "give objective_ktco2e or objective_physical"
        )
        raise UnprocessableEntity(
            "Give exactly one of objective_ktco2e or objective_physical "
            f"({'both' if both else 'neither'} given)",
            errors=[
                FieldError(loc=["body", name], msg=message, type="one_of")
                for name in ("objective_ktco2e", "objective_physical")
            ],
            code="one-objective",
        )
    if body.objective_ktco2e is not None:
        unit, value = EnteredUnit.ktco2e, body.objective_ktco2e
    else:
        assert body.objective_physical is not None
        unit, value = EnteredUnit.physical, body.objective_physical
    factors = Factors(
        ratio=objective.ratio, start_2019=objective.start_2019, has_physical_unit=objective.has_physical_unit
    )
    try:
        derive(unit, value, factors)
    except ConversionError as exc:
        raise _conversion_problem(exc, lever_id, code, version) from exc
    values: dict[str, Any] = {
        "active": True,
        "anchored_version": version,
        "entered_unit": unit.value,
        "entered_value": value,
        "comment": body.comment,
        "done_ktco2e": body.done_ktco2e,
        "planned_ktco2e": body.planned_ktco2e,
        "ratio": objective.ratio,
        "start_2019": objective.start_2019,
        "has_physical_unit": objective.has_physical_unit,
        "unit_physical": objective.unit_physical,
    }
    existing = await AdjustmentRepository(session).get(code, lever_id)
    preview = RegionAdjustment(region_code=code, lever_id=lever_id, **values)
    return PutPlan(
        version=version,
        code=code,
        lever_id=lever_id,
        values=values,
        existing=existing,
        before=_audit_state(existing),
        after=_audit_state(preview),
    )


async def apply_put(
    session: AsyncSession, plan: PutPlan, *, principal: Principal
) -> tuple[RegionAdjustment, bool]:
    """Write the plan (preconditions already checked). Returns (adjustment, created)."""
    changes = plan.changes
    current = plan.current
    if current is not None and not changes:
        return current, False  # idempotent: nothing written, same version, no history entry
    stamp = {"updated_by": principal.subject[:200], "updated_at": utcnow()}
    if plan.existing is None:
        adjustment = RegionAdjustment(region_code=plan.code, lever_id=plan.lever_id, **plan.values, **stamp)
        await AdjustmentRepository(session).add(adjustment)
    else:
        adjustment = plan.existing
        for name, value in (plan.values | stamp).items():
            setattr(adjustment, name, value)
        await session.flush()  # bumps the version (version_id_col)
    record(
        session,
        AuditEntry,
        principal=principal,
        action=HistoryAction.create.value if current is None else HistoryAction.update.value,
        entity_type=ENTITY_TYPE,
        entity_id=entity_id(plan.code, plan.lever_id),
        changes=changes,
    )
    await session.flush()
    return adjustment, current is None


async def withdraw(session: AsyncSession, adjustment: RegionAdjustment, *, principal: Principal) -> None:
    """Back to the official objective: the row stays (its version counter goes on), inactive; audited."""
    before = _audit_state(adjustment)
    adjustment.active = False
    adjustment.updated_by, adjustment.updated_at = principal.subject[:200], utcnow()
    await session.flush()
    record(
        session,
        AuditEntry,
        principal=principal,
        action=HistoryAction.delete.value,
        entity_type=ENTITY_TYPE,
        entity_id=entity_id(adjustment.region_code, adjustment.lever_id),
        changes=diff(before, dict.fromkeys(AUDITED)),
    )
    await session.flush()
